// XML for the query and REST-XML protocols: a small writer for responses (escaping, shapes to
// elements) and a pugixml-based reader that turns request bodies into params trees.
// Stateless helpers; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "protocol/model.h"

namespace sless::protocol::xml {

// Appends text with &, <, >, " and ' escaped (and control characters as character references).
void append_escaped(std::string& out, std::string_view text);

// Writes `value` (a params/result tree node of shape `member.shape`) as XML elements named after
// the member, following the model's flattened/locationName/xmlAttribute traits.
void write_member(std::string& out, const Member& member, const nlohmann::json& value);
// Writes every member of a structure value (without an enclosing element).
void write_members(std::string& out, const Shape& shape, const nlohmann::json& value);
// Writes a whole element: <name xmlns="ns" attrs>members</name>.
void write_structure(std::string& out, std::string_view name, std::string_view ns, const Shape& shape,
                     const nlohmann::json& value);

// The text of a scalar for XML and query strings (timestamps as ISO 8601 unless the member or
// shape names another format).
std::string scalar_text(const Shape& shape, const Member* ref, const nlohmann::json& value);

// Parses an XML document whose root element holds `shape`'s members. The root's name is not
// checked (AWS's parsers ignore it). Returns the params tree or an error ("MalformedXML").
Outcome<nlohmann::json> parse_document(std::string_view body, const Shape& shape);

}  // namespace sless::protocol::xml
