// Template documents: a SAM/CloudFormation template (YAML or JSON) read into a JSON tree, with
// the YAML short forms (!Ref, !GetAtt, !Sub, ...) expanded to their long forms and the line of
// every mapping key kept for error messages. Pure; any thread.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace sless::stack {

struct TemplateDoc {
  nlohmann::json root;
  // JSON pointer ("/Resources/Table/Properties/KeySchema") → 1-based line of that key.
  std::map<std::string, int> lines;

  // The line of `pointer`, or of its nearest ancestor that has one (0 when none).
  int line_of(std::string pointer) const;
};

// Parses YAML (or JSON, which YAML reads too). Errors carry the line: "line 12: ...".
Result<TemplateDoc> parse_template(const std::string& text);

}  // namespace sless::stack
