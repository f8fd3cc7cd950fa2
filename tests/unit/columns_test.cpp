// Tests of the column-name matching of run's inputs (src/io/columns).
#include "io/columns.hpp"

#include <gtest/gtest.h>

#include "h5infer/error.hpp"

namespace h5infer::io {
namespace {

const std::vector<std::string> model{"pt", "eta", "phi"};
const std::string where = "dataset '/x' in 'f.h5'";

// The message of the InputError `call` throws, or "" when it throws nothing.
template <typename Call>
std::string input_error(Call call) {
    try {
        (void)call();
    } catch (const InputError& error) {
        return error.what();
    }
    return "";
}

TEST(MatchColumns, SameOrderIsTheIdentity) {
    for (const ColumnNames mode : {ColumnNames::Reorder, ColumnNames::Strict}) {
        const std::vector<std::int64_t> order = match_columns(model, model, mode, where);
        EXPECT_EQ(order, (std::vector<std::int64_t>{0, 1, 2}));
        EXPECT_TRUE(in_order(order));
    }
}

TEST(MatchColumns, AnotherOrderGivesEachModelColumnItsInputColumn) {
    const std::vector<std::int64_t> order =
        match_columns(model, {"phi", "pt", "eta"}, ColumnNames::Reorder, where);
    EXPECT_EQ(order, (std::vector<std::int64_t>{1, 2, 0}));
    EXPECT_FALSE(in_order(order));
}

TEST(MatchColumns, StrictRefusesAnotherOrderNamingTheFirstColumnOutOfPlace) {
    const std::string message = input_error([] {
        return match_columns(model, {"pt", "phi", "eta"}, ColumnNames::Strict, where);
    });
    EXPECT_NE(message.find(where + " has the model's columns in another order (its column 1 is "
                                   "'phi', the model's is 'eta')"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("drop --column-names strict"), std::string::npos) << message;
}

TEST(MatchColumns, MissingAndExtraNamesAreNamed) {
    const std::string message = input_error([] {
        return match_columns(model, {"pt", "id", "phi"}, ColumnNames::Reorder, where);
    });
    EXPECT_NE(message.find("lacks the model's columns eta and has columns the model does not "
                           "take: id; the model takes 3 columns (pt, eta, phi)"),
              std::string::npos)
        << message;
    EXPECT_NE(input_error([] {
                  return match_columns(model, {"pt", "eta"}, ColumnNames::Reorder, where);
              }).find("lacks the model's columns phi;"),
              std::string::npos);
    EXPECT_NE(
        input_error([] {
            return match_columns(model, {"pt", "eta", "phi", "y"}, ColumnNames::Reorder, where);
        }).find("has columns the model does not take: y;"),
        std::string::npos);
}

TEST(MatchColumns, ARepeatedNameIsRefused) {
    const std::string message = input_error([] {
        return match_columns(model, {"pt", "eta", "pt"}, ColumnNames::Reorder, where);
    });
    EXPECT_NE(message.find("names column 'pt' twice (positions 0 and 2)"), std::string::npos)
        << message;
}

TEST(MatchColumns, NamesAreCaseSensitive) {
    EXPECT_NE(input_error([] {
                  return match_columns(model, {"PT", "eta", "phi"}, ColumnNames::Reorder, where);
              }).find("lacks the model's columns pt"),
              std::string::npos);
}

TEST(PickColumns, TakesTheModelsColumnsAndIgnoresTheOthers) {
    EXPECT_EQ(pick_columns(model, {"run", "eta", "event", "phi", "pt"}, where, "datasets"),
              (std::vector<std::int64_t>{4, 1, 3}));
}

TEST(PickColumns, MissingNamesAreNamedWithWhatThereIs) {
    const std::string message = input_error([] {
        return pick_columns(model, {"eta", "event"}, where, "datasets");
    });
    EXPECT_NE(message.find(where + " lacks the model's columns pt, phi (its datasets: eta, event)"),
              std::string::npos)
        << message;
}

TEST(PickColumns, ANeededNameHeldTwiceIsRefused) {
    EXPECT_NE(input_error([] {
                  return pick_columns(model, {"pt", "eta", "phi", "pt"}, where, "fields");
              }).find("has two fields named 'pt'"),
              std::string::npos);
    EXPECT_EQ(pick_columns(model, {"pt", "eta", "phi", "id", "id"}, where, "fields"),
              (std::vector<std::int64_t>{0, 1, 2}));
}

TEST(NameList, ShortensLongLists) {
    EXPECT_EQ(name_list({}), "none");
    EXPECT_EQ(name_list({"a", "b", "c"}, 2), "a, b and 1 more");
}

}  // namespace
}  // namespace h5infer::io
