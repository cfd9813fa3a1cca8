// CsvReader: records of an RFC 4180 CSV file (commas, "quoted" fields with "" for a quote and
// line breaks inside, CRLF or LF), one at a time, with the line each record starts on. A
// record that breaks the rules is reported with its line and skipped; reading goes on.
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace callflow {

struct CsvRecord {
  int line = 0;  // 1-based line the record starts on
  std::vector<std::string> fields;
  std::string error;  // set when the record is malformed (fields then incomplete)
};

class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {}
  // The next record; false at the end of the input.
  bool next(CsvRecord& record);

 private:
  int get();
  int peek();

  std::istream& in_;
  int line_ = 1;
  bool started_ = false;
};

}  // namespace callflow
