#include "store/csv.h"

namespace callflow {

int CsvReader::get() {
  int c = in_.get();
  if (c == '\n') ++line_;
  return c;
}

int CsvReader::peek() { return in_.peek(); }

bool CsvReader::next(CsvRecord& record) {
  record = CsvRecord{};
  if (!started_) {
    started_ = true;
    // A UTF-8 byte order mark, as spreadsheet programs write it.
    if (peek() == 0xEF) {
      char bom[3];
      in_.read(bom, 3);
      if (in_.gcount() != 3 || bom[1] != '\xBB' || bom[2] != '\xBF') {
        in_.clear();
        in_.seekg(0);
      }
    }
  }
  if (peek() == std::char_traits<char>::eof()) return false;
  record.line = line_;
  std::string field;
  std::string problem;  // reported once the whole record has been read
  auto fail = [&](std::string message) {
    record.error = std::move(message);
    for (int c = get(); c != std::char_traits<char>::eof() && c != '\n'; c = get()) {
    }
    return true;
  };
  for (;;) {
    int c = get();
    if (c == '"' && field.empty()) {
      int start = line_;
      for (;;) {
        c = get();
        if (c == std::char_traits<char>::eof()) {
          record.error =
              "a quoted field opened on line " + std::to_string(start) + " is never closed";
          return true;
        }
        if (c == '"') {
          if (peek() == '"') {
            get();
            field += '"';
            continue;
          }
          break;
        }
        if (c == '\0') {
          problem = "a NUL byte in a field";
          continue;
        }
        field += static_cast<char>(c);
      }
      c = peek();
      if (c != ',' && c != '\r' && c != '\n' && c != std::char_traits<char>::eof()) {
        return fail("text after a closing quote");
      }
      continue;
    }
    if (c == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      continue;
    }
    if (c == '\r' && peek() == '\n') continue;
    if (c == '\n' || c == std::char_traits<char>::eof()) {
      record.fields.push_back(std::move(field));
      if (!problem.empty()) record.error = problem;
      return true;
    }
    if (c == '\0') {
      problem = "a NUL byte in a field";
      continue;
    }
    field += static_cast<char>(c);
  }
}

}  // namespace callflow
