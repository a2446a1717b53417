#include "integrations/csv_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "integrations/file_bytes.h"

namespace casewatch {
namespace {

struct Row {
  std::vector<std::string> fields;
  size_t line = 0;
  std::string error;

  bool operator==(const Row&) const = default;
};

void PrintTo(const Row& row, std::ostream* os) {
  *os << "{line " << row.line << ", [";
  for (size_t i = 0; i < row.fields.size(); ++i) *os << (i ? ", " : "") << '"' << row.fields[i] << '"';
  *os << "]";
  if (!row.error.empty()) *os << ", error \"" << row.error << '"';
  *os << "}";
}

Row copy_of(const csv::Record& record) {
  Row row;
  for (auto field : record.fields) row.fields.emplace_back(field);
  row.line = record.line;
  row.error = record.error;
  return row;
}

// Copies every field as soon as the record is read, so views are checked before the next call.
std::vector<Row> read_all(std::string_view data) {
  csv::Reader reader(data);
  csv::Record record;
  std::vector<Row> rows;
  while (reader.next(record)) rows.push_back(copy_of(record));
  return rows;
}

Row ok(size_t line, std::vector<std::string> fields) { return Row{std::move(fields), line, ""}; }

// Reads `data` as feeds are read from files: `piece` bytes at a time, each reader starting with
// what the previous one left unread.
std::vector<Row> read_in_pieces(std::string_view data, size_t piece) {
  std::vector<Row> rows;
  std::string buffer;
  size_t line = 1, offset = 0;
  csv::Record record;
  for (bool last = false; !last;) {
    size_t n = std::min(piece, data.size() - offset);
    buffer.append(data.substr(offset, n));
    offset += n;
    last = n < piece;
    csv::Reader reader(buffer, line, last);
    while (reader.next(record)) rows.push_back(copy_of(record));
    line = reader.line();
    buffer.erase(0, reader.consumed());
  }
  return rows;
}

TEST(CsvReader, SimpleRows) {
  EXPECT_EQ(read_all("id,name\n1,alice\n2,bob\n"),
            (std::vector<Row>{ok(1, {"id", "name"}), ok(2, {"1", "alice"}), ok(3, {"2", "bob"})}));
}

// Commas are found 64 bytes at a time: fields of every length from empty to past a block, quoted
// ones holding commas among them, records ending anywhere in a block and data ending short of
// one, each read as a plain split of the fields written would.
TEST(CsvReader, FieldsAcrossCommaBlocksSplitAsWritten) {
  uint64_t state = 7;
  auto next = [&](unsigned below) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<unsigned>((state >> 33) % below);
  };
  for (int round = 0; round < 300; ++round) {
    std::string data;
    std::vector<Row> expected;
    const unsigned records = 1 + next(6);
    for (unsigned r = 0; r < records; ++r) {
      std::vector<std::string> fields(1 + next(12));
      for (size_t f = 0; f < fields.size(); ++f) {
        const unsigned length = next(4) == 0 ? next(140) : next(9);
        for (unsigned i = 0; i < length; ++i) fields[f] += "abc ,xyz019"[next(11)];
        if (f) data += ',';
        if (fields[f].find(',') != std::string::npos) data += '"' + fields[f] + '"';
        else data += fields[f];
      }
      if (fields.size() == 1 && fields[0].empty()) fields[0] = "x", data += 'x';  // not a blank line
      if (r + 1 < records || next(2)) data += '\n';
      expected.push_back(ok(r + 1, fields));
    }
    ASSERT_EQ(read_all(data), expected) << data;
  }
}

// A line of millions of commas would cost a view per field: past kMaxFields the record is
// malformed and its line skipped, whole or read in pieces, quoted fields among them or not.
TEST(CsvReader, TooManyFieldsRejectTheirLineAlone) {
  const size_t most = csv::Reader::kMaxFields;
  const std::string fits = "a" + std::string(most - 1, ',') + "\n";
  const std::string over = "\"x,y\"" + std::string(most, ',') + "\"q\nq\",z\n";
  const std::string data = "h\n" + fits + over + "last\n";
  for (size_t piece : {size_t(7), size_t(4096), data.size() + 1}) {
    std::vector<Row> rows = read_in_pieces(data, piece);
    ASSERT_EQ(rows.size(), 4u) << piece;  // the bad record's quoted field, read before the limit, holds a line break
    EXPECT_TRUE(rows[1].error.empty());
    EXPECT_EQ(rows[1].fields.size(), most);
    EXPECT_EQ(rows[2].error, "more than 10000 fields") << piece;
    EXPECT_EQ(rows[2].line, 3u);
    EXPECT_EQ(rows[3], ok(5, {"last"})) << piece;
  }
}

TEST(CsvReader, EmptyInput) {
  EXPECT_TRUE(read_all("").empty());
  EXPECT_TRUE(read_all("\n\r\n\n").empty());
  EXPECT_TRUE(read_all("\xEF\xBB\xBF").empty());
}

TEST(CsvReader, EndOfDataIsSticky) {
  csv::Reader reader("a\n");
  csv::Record record;
  ASSERT_TRUE(reader.next(record));
  EXPECT_FALSE(reader.next(record));
  EXPECT_FALSE(reader.next(record));
}

TEST(CsvReader, QuotedCommas) {
  EXPECT_EQ(read_all("\"a,b\",c,\"d,,e\"\n"), (std::vector<Row>{ok(1, {"a,b", "c", "d,,e"})}));
}

TEST(CsvReader, DoubledQuotes) {
  EXPECT_EQ(read_all("\"say \"\"hi\"\"\",\"\"\"\",\"x\"\"\"\n"),
            (std::vector<Row>{ok(1, {"say \"hi\"", "\"", "x\""})}));
}

TEST(CsvReader, EmptyQuotedField) {
  EXPECT_EQ(read_all("\"\"\na,\"\",b\n\"\",\"\"\n"),
            (std::vector<Row>{ok(1, {""}), ok(2, {"a", "", "b"}), ok(3, {"", ""})}));
}

TEST(CsvReader, EmbeddedNewlinesKeepLaterLineNumbers) {
  const std::string data =
      "h1,h2\n"
      "1,\"two\nlines\"\n"
      "2,\"crlf\r\ninside\",x\r\n"
      "3,\"lone\rcr\"\n"
      "4,\"a\n\nb\n\"\n"
      "5,end\n";
  EXPECT_EQ(read_all(data), (std::vector<Row>{ok(1, {"h1", "h2"}), ok(2, {"1", "two\nlines"}),
                                              ok(4, {"2", "crlf\r\ninside", "x"}),
                                              ok(6, {"3", "lone\rcr"}), ok(7, {"4", "a\n\nb\n"}),
                                              ok(11, {"5", "end"})}));
}

TEST(CsvReader, NewlineInsideUnescapedField) {
  EXPECT_EQ(read_all("\"a\"\"\nb\",c\nd\n"), (std::vector<Row>{ok(1, {"a\"\nb", "c"}), ok(3, {"d"})}));
}

TEST(CsvReader, ByteOrderMarkSkipped) {
  EXPECT_EQ(read_all("\xEF\xBB\xBFid,name\n1,x\n"),
            (std::vector<Row>{ok(1, {"id", "name"}), ok(2, {"1", "x"})}));
  EXPECT_EQ(read_all("\xEF\xBB\xBF\"id\",name\n"), (std::vector<Row>{ok(1, {"id", "name"})}));
}

TEST(CsvReader, OnlyLeadingByteOrderMarkSkipped) {
  EXPECT_EQ(read_all("a\n\xEF\xBB\xBF" "b\n"), (std::vector<Row>{ok(1, {"a"}), ok(2, {"\xEF\xBB\xBF" "b"})}));
}

TEST(CsvReader, CrlfEndings) {
  EXPECT_EQ(read_all("a,b\r\n1,2\r\n\"q\",3\r\n"),
            (std::vector<Row>{ok(1, {"a", "b"}), ok(2, {"1", "2"}), ok(3, {"q", "3"})}));
}

TEST(CsvReader, LoneCrInUnquotedFieldIsData) {
  EXPECT_EQ(read_all("a\rb,c\n"), (std::vector<Row>{ok(1, {"a\rb", "c"})}));
}

TEST(CsvReader, MissingFinalNewline) {
  EXPECT_EQ(read_all("a,b\n1,2"), (std::vector<Row>{ok(1, {"a", "b"}), ok(2, {"1", "2"})}));
  EXPECT_EQ(read_all("a,\"b\""), (std::vector<Row>{ok(1, {"a", "b"})}));
  EXPECT_EQ(read_all("a,b\r"), (std::vector<Row>{ok(1, {"a", "b"})}));
  EXPECT_EQ(read_all("a,\"b\"\r"), (std::vector<Row>{ok(1, {"a", "b"})}));
}

TEST(CsvReader, TrailingComma) {
  EXPECT_EQ(read_all("a,b,\n1,2,\r\n3,"),
            (std::vector<Row>{ok(1, {"a", "b", ""}), ok(2, {"1", "2", ""}), ok(3, {"3", ""})}));
  EXPECT_EQ(read_all("\"a\",\n"), (std::vector<Row>{ok(1, {"a", ""})}));
}

TEST(CsvReader, BlankLinesSkipped) {
  EXPECT_EQ(read_all("\n\na\n\n\r\nb\r\n\r\n\nc\n\n"),
            (std::vector<Row>{ok(3, {"a"}), ok(6, {"b"}), ok(9, {"c"})}));
}

TEST(CsvReader, WhitespaceLineIsNotBlank) {
  EXPECT_EQ(read_all("a\n \nb\n"), (std::vector<Row>{ok(1, {"a"}), ok(2, {" "}), ok(3, {"b"})}));
}

TEST(CsvReader, EmptyFields) {
  EXPECT_EQ(read_all(",\n,,\na,,b\n"),
            (std::vector<Row>{ok(1, {"", ""}), ok(2, {"", "", ""}), ok(3, {"a", "", "b"})}));
}

TEST(CsvReader, FieldsAreRaw) {
  EXPECT_EQ(read_all(" a , b \n"), (std::vector<Row>{ok(1, {" a ", " b "})}));
}

TEST(CsvReader, BareQuoteInUnquotedFieldIsData) {
  EXPECT_EQ(read_all("ab\"c,5\" screen,x\"\n"), (std::vector<Row>{ok(1, {"ab\"c", "5\" screen", "x\""})}));
}

TEST(CsvReader, TextAfterClosingQuoteRejectsOnlyThatRecord) {
  const std::string data =
      "id,name,team\n"
      "1,\"ok\",a\n"
      "2,\"b\"c,d\n"
      "3,\"multi\nline\"x,y\n"
      "4,fine,\"z\"\n";
  auto rows = read_all(data);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], ok(1, {"id", "name", "team"}));
  EXPECT_EQ(rows[1], ok(2, {"1", "ok", "a"}));
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_EQ(rows[2].error, "unexpected text after closing quote in field 2");
  EXPECT_EQ(rows[3].line, 4u);
  EXPECT_EQ(rows[3].error, "unexpected text after closing quote in field 2");
  EXPECT_EQ(rows[4], ok(6, {"4", "fine", "z"}));
}

TEST(CsvReader, TextAfterClosingQuoteAtEndOfData) {
  auto rows = read_all("a\n\"b\"c");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], ok(1, {"a"}));
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[1].error, "unexpected text after closing quote in field 1");
}

TEST(CsvReader, UnterminatedQuoteStopsReading) {
  auto rows = read_all("a,b\n1,2\n3,\"never closed\n4,5\n6,7\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], ok(1, {"a", "b"}));
  EXPECT_EQ(rows[1], ok(2, {"1", "2"}));
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_EQ(rows[2].error, "unterminated quoted field starting on line 3");
}

TEST(CsvReader, UnterminatedQuoteAfterEscapedQuote) {
  auto rows = read_all("x\n\"a\"\"b\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].error, "unterminated quoted field starting on line 2");
  ASSERT_EQ(rows[1].fields.size(), 1u);
  EXPECT_EQ(rows[1].fields[0], "a\"b\n");
}

TEST(CsvReader, UnterminatedQuoteStartsOnLaterLine) {
  auto rows = read_all("\"a\nb\",\"c\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[0].error, "unterminated quoted field starting on line 2");
}

TEST(CsvReader, UnescapedFieldsStayValidAcrossRecord) {
  // Many unescaped fields in one record, short (small-string) and long, so the reader's storage has
  // to grow while earlier fields are already in the record.
  std::string line;
  std::vector<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    std::string value = (i % 3 == 0) ? std::string(100 + i, 'x') : "v" + std::to_string(i);
    value += "\"q\"";
    expected.push_back(value);
    if (i) line += ',';
    line += '"';
    for (char c : value) line += (c == '"') ? std::string("\"\"") : std::string(1, c);
    line += '"';
    if (i % 4 == 1) {  // interleave plain fields, which stay views into the input
      line += ",plain" + std::to_string(i);
      expected.push_back("plain" + std::to_string(i));
    }
  }
  const std::string data = line + "\n" + line + "\n\"a\"\"\",b\n";

  csv::Reader reader(data);
  csv::Record record;
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(reader.next(record));
    ASSERT_EQ(record.fields.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(record.fields[i], expected[i]) << "field " << i;
  }
  // A later record with fewer fields reuses the storage without mixing in stale data.
  ASSERT_TRUE(reader.next(record));
  ASSERT_EQ(record.fields.size(), 2u);
  EXPECT_EQ(record.fields[0], "a\"");
  EXPECT_EQ(record.fields[1], "b");
  EXPECT_EQ(record.line, 3u);
  EXPECT_FALSE(reader.next(record));
}

TEST(CsvReader, PlainFieldsAreViewsIntoInput) {
  const std::string data = "abc,\"def\",\"g\"\"h\"\n";
  csv::Reader reader(data);
  csv::Record record;
  ASSERT_TRUE(reader.next(record));
  ASSERT_EQ(record.fields.size(), 3u);
  auto inside = [&](std::string_view v) {
    return v.data() >= data.data() && v.data() + v.size() <= data.data() + data.size();
  };
  EXPECT_TRUE(inside(record.fields[0]));
  EXPECT_TRUE(inside(record.fields[1]));
  EXPECT_FALSE(inside(record.fields[2]));
  EXPECT_EQ(record.fields[2], "g\"h");
}

TEST(CsvReader, ReusedRecordIsReset) {
  csv::Reader reader("\"a\"b,c\nd\n");
  csv::Record record;
  ASSERT_TRUE(reader.next(record));
  EXPECT_FALSE(record.error.empty());
  ASSERT_TRUE(reader.next(record));
  EXPECT_TRUE(record.error.empty());
  ASSERT_EQ(record.fields.size(), 1u);
  EXPECT_EQ(record.fields[0], "d");
  EXPECT_EQ(record.line, 2u);
}

class FileBytesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("casewatch_file_bytes_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  std::filesystem::path dir_;
};

TEST_F(FileBytesTest, MissingFile) {
  FileBytes file;
  std::string error;
  const std::string path = (dir_ / "missing.csv").string();
  EXPECT_FALSE(file.open(path, error));
  EXPECT_EQ(error, path + ": No such file or directory");
  EXPECT_TRUE(file.bytes().empty());
}

TEST_F(FileBytesTest, Directory) {
  FileBytes file;
  std::string error;
  EXPECT_FALSE(file.open(dir_.string(), error));
  EXPECT_EQ(error, dir_.string() + ": Is a directory");
}

TEST_F(FileBytesTest, EmptyFile) {
  FileBytes file;
  std::string error;
  ASSERT_TRUE(file.open(write("empty.csv", ""), error)) << error;
  EXPECT_TRUE(file.bytes().empty());
  csv::Reader reader(file.bytes());
  csv::Record record;
  EXPECT_FALSE(reader.next(record));
}

TEST_F(FileBytesTest, NormalFile) {
  const std::string content = "\xEF\xBB\xBFid,name\r\n1,\"a, b\"\r\n";
  FileBytes file;
  std::string error;
  ASSERT_TRUE(file.open(write("a.csv", content), error)) << error;
  EXPECT_EQ(file.bytes(), content);
  EXPECT_EQ(read_all(file.bytes()), (std::vector<Row>{ok(1, {"id", "name"}), ok(2, {"1", "a, b"})}));
}

TEST_F(FileBytesTest, ReopenReplacesContent) {
  FileBytes file;
  std::string error;
  ASSERT_TRUE(file.open(write("one.csv", "one"), error)) << error;
  EXPECT_EQ(file.bytes(), "one");
  ASSERT_TRUE(file.open(write("two.csv", "two!"), error)) << error;
  EXPECT_EQ(file.bytes(), "two!");
  EXPECT_FALSE(file.open((dir_ / "nope").string(), error));
  EXPECT_TRUE(file.bytes().empty());
}

}  // namespace
}  // namespace casewatch

namespace casewatch {
namespace {

// Every way of cutting the input into pieces gives the records of reading it whole: a cut inside
// a quoted newline, between two doubled quotes, between CR and LF or inside the byte order mark.
TEST(CsvReaderPieces, EveryPieceSizeGivesTheSameRecords) {
  const std::string inputs[] = {
      "\xEF\xBB\xBFid,note\r\n1,\"a \"\"quoted\"\"\r\nline\",x\r\n\r\n2,plain\r\n3,\"bad\"tail,y\n4,\"\"\n",
      "a,b\n\n\n\"x,\ny\",\"\"\"\"\nlast,row",
      "h\n\"unterminated\nrest",
      "h\r\nlone\r,cr\r",
      "\xEF\xBB\xBF\xEF\xBB\xBFid,x\n1,2\n",  // the second mark is data (found by the fuzzer)
      "\xEF\xBB\xBF\r\n\xEF\xBB\xBF,\"a\nb\"",
  };
  for (const std::string& input : inputs) {
    const std::vector<Row> whole = read_all(input);
    ASSERT_FALSE(whole.empty());
    for (size_t piece = 1; piece <= input.size() + 1; ++piece)
      EXPECT_EQ(read_in_pieces(input, piece), whole) << "pieces of " << piece << " bytes";
  }
}

}  // namespace
}  // namespace casewatch
