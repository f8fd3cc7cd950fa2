! Predicts the rows of a raw float32 file (rows x the model's inputs, row-major) with h5infer's
! C API and writes the predictions as raw float32 (rows x outputs).
! Usage: predict_fortran MODEL INPUT.raw OUTPUT.raw [THREADS]
program predict
  use, intrinsic :: iso_c_binding
  use h5infer
  implicit none

  character(len=4096) :: model_path, input_path, output_path, argument
  type(c_ptr) :: predictor
  integer(c_int) :: status, threads
  integer(c_int64_t) :: inputs, outputs, rows
  integer :: bytes, unit
  real(c_float), allocatable :: src(:, :), dst(:, :)

  if (command_argument_count() < 3) then
    write (*, '(a)') 'usage: predict_fortran MODEL INPUT.raw OUTPUT.raw [THREADS]'
    stop 2
  end if
  call get_command_argument(1, model_path)
  call get_command_argument(2, input_path)
  call get_command_argument(3, output_path)
  threads = 1
  if (command_argument_count() > 3) then
    call get_command_argument(4, argument)
    read (argument, *) threads
  end if

  status = h5infer_load(trim(model_path) // c_null_char, threads, predictor)
  call check(status)
  call check(h5infer_input_width(predictor, inputs))
  call check(h5infer_output_width(predictor, outputs))

  inquire (file=trim(input_path), size=bytes)
  rows = bytes / 4 / inputs
  allocate (src(inputs, rows), dst(outputs, rows))
  open (newunit=unit, file=trim(input_path), access='stream', form='unformatted', status='old')
  read (unit) src
  close (unit)

  call check(h5infer_predict(predictor, src, rows, inputs, dst, outputs))

  open (newunit=unit, file=trim(output_path), access='stream', form='unformatted', &
        status='replace')
  write (unit) dst
  close (unit)
  write (*, '(a, i0, a, i0, a, i0, a)') 'fortran: ', rows, ' rows x ', inputs, ' features -> ', &
    outputs, ' predictions each'
  call h5infer_free(predictor)

contains

  subroutine check(code)
    integer(c_int), intent(in) :: code
    if (code /= H5INFER_OK) then
      write (0, '(a, i0, a, a)') 'fortran: error ', code, ': ', last_error()
      error stop 1
    end if
  end subroutine

end program predict
