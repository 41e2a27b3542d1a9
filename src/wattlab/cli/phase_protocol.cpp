#include "wattlab/cli/phase_protocol.h"

namespace wattlab::cli {

namespace {
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}
}  // namespace

Result<PhaseCommand> parse_phase_line(const std::string& raw) {
  std::string line = trim(raw);
  for (const char* verb : {"begin", "end"}) {
    std::string prefix = std::string(verb) + " ";
    if (line.rfind(prefix, 0) == 0) {
      std::string name = trim(line.substr(prefix.size()));
      if (!name.empty()) return PhaseCommand{std::string(verb) == "begin", name};
    }
  }
  return Status::invalid_argument("phase line \"" + raw + "\" is not \"begin NAME\" or \"end NAME\"");
}

bool LineSplitter::next_line(std::string* line) {
  size_t newline = buffer_.find('\n');
  if (newline == std::string::npos) return false;
  *line = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);
  return true;
}

std::string LineSplitter::take_rest() {
  std::string rest;
  rest.swap(buffer_);
  return rest;
}

}  // namespace wattlab::cli
