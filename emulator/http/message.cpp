#include "http/message.h"

#include <algorithm>

#include "core/encoding.h"

namespace sless::http {

// Out of line: inlined into its many callers, GCC 12 warned of out-of-bounds copies that are not
// there (-Warray-bounds on the moved strings).
void Headers::add(std::string name, std::string value) { entries_.emplace_back(std::move(name), std::move(value)); }

void Headers::set(std::string_view name, std::string value) {
  remove(name);
  entries_.emplace_back(std::string(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return enc::iequals(e.first, name); }),
                 entries_.end());
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  // Names of one length are told apart by their first letter in most cases, before the
  // case-insensitive compare (OR-ing 0x20 folds ASCII letters and keeps '-' and digits apart).
  if (name.empty()) {
    for (const auto& [k, v] : entries_) {
      if (k.empty()) return std::string_view(v);
    }
    return std::nullopt;
  }
  const char first = static_cast<char>(name[0] | 0x20);
  for (const auto& [k, v] : entries_) {
    if (k.size() == name.size() && static_cast<char>(k[0] | 0x20) == first && enc::iequals_same_size(k, name)) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::vector<QueryParam> parse_query(std::string_view raw, bool plus_as_space) {
  std::vector<QueryParam> out;
  while (!raw.empty()) {
    auto amp = raw.find('&');
    std::string_view part = raw.substr(0, amp);
    if (!part.empty()) {
      QueryParam p;
      auto eq = part.find('=');
      p.key = enc::percent_decode(part.substr(0, eq), plus_as_space);
      if (eq == std::string_view::npos) {
        p.no_value = true;
      } else {
        p.value = enc::percent_decode(part.substr(eq + 1), plus_as_space);
      }
      out.push_back(std::move(p));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    raw.remove_prefix(amp + 1);
  }
  return out;
}

std::string_view status_text(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace sless::http
