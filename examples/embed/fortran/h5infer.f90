! Fortran interfaces to h5infer's C API (include/h5infer/h5infer.h) through iso_c_binding.
module h5infer
  use, intrinsic :: iso_c_binding
  implicit none

  integer(c_int), parameter :: H5INFER_OK = 0

  interface
    integer(c_int) function h5infer_load(model_path, threads, predictor) bind(c)
      import :: c_int, c_char, c_ptr
      character(kind=c_char), intent(in) :: model_path(*)
      integer(c_int), value :: threads
      type(c_ptr), intent(out) :: predictor
    end function

    subroutine h5infer_free(predictor) bind(c)
      import :: c_ptr
      type(c_ptr), value :: predictor
    end subroutine

    integer(c_int) function h5infer_input_width(predictor, width) bind(c)
      import :: c_int, c_int64_t, c_ptr
      type(c_ptr), value :: predictor
      integer(c_int64_t), intent(out) :: width
    end function

    integer(c_int) function h5infer_output_width(predictor, width) bind(c)
      import :: c_int, c_int64_t, c_ptr
      type(c_ptr), value :: predictor
      integer(c_int64_t), intent(out) :: width
    end function

    ! src(src_width, rows) and dst(dst_width, rows): Fortran's column-major order of those
    ! shapes is the C API's row-major rows x width.
    integer(c_int) function h5infer_predict(predictor, src, rows, src_width, dst, dst_width) &
        bind(c)
      import :: c_int, c_int64_t, c_float, c_ptr
      type(c_ptr), value :: predictor
      real(c_float), intent(in) :: src(*)
      integer(c_int64_t), value :: rows, src_width
      real(c_float), intent(out) :: dst(*)
      integer(c_int64_t), value :: dst_width
    end function

    type(c_ptr) function h5infer_last_error() bind(c)
      import :: c_ptr
    end function

    integer(c_size_t) function c_strlen(text) bind(c, name="strlen")
      import :: c_size_t, c_ptr
      type(c_ptr), value :: text
    end function
  end interface

contains

  ! This thread's last error message as a Fortran string.
  function last_error() result(message)
    character(len=:), allocatable :: message
    character(kind=c_char), pointer :: chars(:)
    type(c_ptr) :: text
    integer :: i, length
    text = h5infer_last_error()
    length = int(c_strlen(text))
    call c_f_pointer(text, chars, [length])
    allocate(character(len=length) :: message)
    do i = 1, length
      message(i:i) = chars(i)
    end do
  end function

end module h5infer
