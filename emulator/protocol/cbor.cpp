// CBOR <-> params tree, on libcbor's streaming decoder and its head encoders.
//
// The decoder never builds libcbor's item tree: every head the streaming decoder reports goes
// straight into an explicit stack of open containers, so nesting costs no native recursion, a
// declared length never allocates by itself, and depth is bounded by kMaxDepth.
#include "protocol/cbor.h"

#include <cbor.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "core/encoding.h"

namespace sless::protocol::cbor {

using nlohmann::json;

namespace {

constexpr uint64_t kTagEpoch = 1;

ServiceError serialization_error(const std::string& detail) {
  return ServiceError("SerializationException", "Could not parse the request body as CBOR: " + detail);
}

// One open container (or indefinite-length string) while decoding.
struct Frame {
  enum class Kind { kArray, kMap, kBytes, kText };
  Kind kind = Kind::kArray;
  bool indefinite = false;
  uint64_t remaining = 0;  // items (arrays) or pairs (maps) still expected when definite
  std::optional<uint64_t> tag;
  json value;              // the array or object under construction
  std::string chunks;      // indefinite strings: the bytes so far
  std::string key;         // maps: the key whose value comes next
  bool have_key = false;
};

class Decoder {
 public:
  Outcome<json> run(std::string_view body) {
    const auto* data = reinterpret_cast<cbor_data>(body.data());
    size_t offset = 0;
    while (offset < body.size()) {
      if (root_) return serialization_error("unexpected bytes after the top-level item");
      size_t before = events_;
      cbor_decoder_result r = cbor_stream_decode(data + offset, body.size() - offset, &callbacks(), this);
      if (r.status == CBOR_DECODER_NEDATA) return serialization_error("truncated input");
      if (r.status != CBOR_DECODER_FINISHED || r.read == 0) return serialization_error("malformed input");
      if (!error_.empty()) return serialization_error(error_);
      if (events_ == before) return serialization_error("unsupported simple value");
      offset += r.read;
    }
    if (!root_ || !stack_.empty()) return serialization_error("truncated input");
    return std::move(*root_);
  }

 private:
  static Decoder& self(void* ctx) { return *static_cast<Decoder*>(ctx); }

  static const cbor_callbacks& callbacks() {
    static const cbor_callbacks cb = [] {
      cbor_callbacks c = cbor_empty_callbacks;
      c.uint8 = [](void* x, uint8_t v) { self(x).unsigned_int(v); };
      c.uint16 = [](void* x, uint16_t v) { self(x).unsigned_int(v); };
      c.uint32 = [](void* x, uint32_t v) { self(x).unsigned_int(v); };
      c.uint64 = [](void* x, uint64_t v) { self(x).unsigned_int(v); };
      c.negint8 = [](void* x, uint8_t v) { self(x).negative_int(v); };
      c.negint16 = [](void* x, uint16_t v) { self(x).negative_int(v); };
      c.negint32 = [](void* x, uint32_t v) { self(x).negative_int(v); };
      c.negint64 = [](void* x, uint64_t v) { self(x).negative_int(v); };
      c.byte_string = [](void* x, cbor_data d, size_t n) { self(x).string(Frame::Kind::kBytes, d, n); };
      c.byte_string_start = [](void* x) { self(x).open(Frame::Kind::kBytes, true, 0); };
      c.string = [](void* x, cbor_data d, size_t n) { self(x).string(Frame::Kind::kText, d, n); };
      c.string_start = [](void* x) { self(x).open(Frame::Kind::kText, true, 0); };
      c.array_start = [](void* x, size_t n) { self(x).open(Frame::Kind::kArray, false, n); };
      c.indef_array_start = [](void* x) { self(x).open(Frame::Kind::kArray, true, 0); };
      c.map_start = [](void* x, size_t n) { self(x).open(Frame::Kind::kMap, false, n); };
      c.indef_map_start = [](void* x) { self(x).open(Frame::Kind::kMap, true, 0); };
      c.tag = [](void* x, uint64_t v) { self(x).tag(v); };
      c.float2 = [](void* x, float v) { self(x).scalar(json(static_cast<double>(v))); };
      c.float4 = [](void* x, float v) { self(x).scalar(json(static_cast<double>(v))); };
      c.float8 = [](void* x, double v) { self(x).scalar(json(v)); };
      c.undefined = [](void* x) { self(x).scalar(json(nullptr)); };
      c.null = [](void* x) { self(x).scalar(json(nullptr)); };
      c.boolean = [](void* x, bool v) { self(x).scalar(json(v)); };
      c.indef_break = [](void* x) { self(x).brk(); };
      return c;
    }();
    return cb;
  }

  bool failed() {
    ++events_;
    return !error_.empty();
  }

  void fail(const char* why) {
    if (error_.empty()) error_ = why;
  }

  // Inside an indefinite-length string only chunks of its own kind may appear.
  bool in_chunked_string() const {
    return !stack_.empty() && (stack_.back().kind == Frame::Kind::kBytes || stack_.back().kind == Frame::Kind::kText);
  }

  void unsigned_int(uint64_t v) {
    if (failed()) return;
    scalar_unchecked(json(v));
  }

  void negative_int(uint64_t n) {  // the value is -1 - n
    if (failed()) return;
    if (n <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      scalar_unchecked(json(-1 - static_cast<int64_t>(n)));
    } else {
      scalar_unchecked(json(-1.0 - static_cast<double>(n)));
    }
  }

  void scalar(json v) {
    if (failed()) return;
    scalar_unchecked(std::move(v));
  }

  void scalar_unchecked(json v) {
    if (in_chunked_string()) return fail("an indefinite-length string holds a non-string item");
    std::optional<uint64_t> t = tag_;
    tag_.reset();
    place(std::move(v), t);
  }

  void string(Frame::Kind kind, cbor_data d, size_t n) {
    if (failed()) return;
    std::string_view bytes(reinterpret_cast<const char*>(d), n);
    if (in_chunked_string()) {
      if (stack_.back().kind != kind || tag_) return fail("an indefinite-length string holds a chunk of another type");
      stack_.back().chunks.append(bytes);
      return;
    }
    std::optional<uint64_t> t = tag_;
    tag_.reset();
    place(kind == Frame::Kind::kBytes ? json(enc::base64_encode(bytes)) : json(std::string(bytes)), t);
  }

  void open(Frame::Kind kind, bool indefinite, uint64_t size) {
    if (failed()) return;
    if (in_chunked_string()) return fail("an indefinite-length string holds a non-string item");
    if (stack_.size() >= kMaxDepth) return fail("nesting too deep");
    Frame f;
    f.kind = kind;
    f.indefinite = indefinite;
    f.remaining = size;
    f.tag = tag_;
    tag_.reset();
    if (kind == Frame::Kind::kArray) f.value = json::array();
    if (kind == Frame::Kind::kMap) f.value = json::object();
    stack_.push_back(std::move(f));
    if (!indefinite && size == 0) close();
  }

  void tag(uint64_t v) {
    if (failed()) return;
    if (in_chunked_string()) return fail("an indefinite-length string holds a tag");
    if (tag_) return fail("nested tags");
    tag_ = v;
  }

  void brk() {
    if (failed()) return;
    if (stack_.empty() || !stack_.back().indefinite) return fail("unexpected break");
    if (tag_) return fail("a tag without an item");
    if (stack_.back().kind == Frame::Kind::kMap && stack_.back().have_key) return fail("a map key without a value");
    close();
  }

  // Finishes the innermost frame and hands its value to the one around it.
  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    json v;
    if (f.kind == Frame::Kind::kBytes) {
      v = enc::base64_encode(f.chunks);
    } else if (f.kind == Frame::Kind::kText) {
      v = std::move(f.chunks);
    } else {
      v = std::move(f.value);
    }
    place(std::move(v), f.tag);
  }

  void place(json v, std::optional<uint64_t> t) {
    if (t && *t == kTagEpoch) {
      // AWS's CBOR protocols carry timestamps as tag 1 around epoch milliseconds.
      if (!v.is_number()) return fail("tag 1 must enclose a number");
      v = v.get<double>() / 1000.0;
    }
    if (stack_.empty()) {
      root_ = std::move(v);
      return;
    }
    Frame& f = stack_.back();
    if (f.kind == Frame::Kind::kArray) {
      f.value.push_back(std::move(v));
      if (!f.indefinite && --f.remaining == 0) close();
      return;
    }
    // A map: keys and values alternate.
    if (!f.have_key) {
      if (!v.is_string()) return fail("map keys must be text strings");
      f.key = v.get<std::string>();
      f.have_key = true;
      return;
    }
    f.value[f.key] = std::move(v);
    f.have_key = false;
    if (!f.indefinite && --f.remaining == 0) close();
  }

  std::vector<Frame> stack_;
  std::optional<json> root_;
  std::optional<uint64_t> tag_;
  std::string error_;
  size_t events_ = 0;
};

class Writer {
 public:
  void write(const json& v, const Shape* shape) {
    if (shape) {
      switch (shape->type) {
        case ShapeType::kBlob:
          if (v.is_string()) {
            if (auto bytes = enc::base64_decode(v.get_ref<const std::string&>())) return byte_string(*bytes);
          }
          break;
        case ShapeType::kTimestamp:
          if (v.is_number()) {
            head(cbor_encode_tag, kTagEpoch);
            return integer(std::llround(v.get<double>() * 1000.0));
          }
          break;
        case ShapeType::kStructure:
          if (v.is_object()) {
            head(cbor_encode_map_start, v.size());
            for (const auto& [k, item] : v.items()) {
              text(k);
              const Member* m = shape->find_member(k);
              write(item, m ? m->shape : nullptr);
            }
            return;
          }
          break;
        case ShapeType::kList:
          if (v.is_array()) {
            head(cbor_encode_array_start, v.size());
            for (const auto& item : v) write(item, shape->member().shape);
            return;
          }
          break;
        case ShapeType::kMap:
          if (v.is_object()) {
            head(cbor_encode_map_start, v.size());
            for (const auto& [k, item] : v.items()) {
              text(k);
              write(item, shape->value().shape);
            }
            return;
          }
          break;
        default:
          break;
      }
    }
    write_plain(v);
  }

  std::string take() { return std::move(out_); }

 private:
  void write_plain(const json& v) {
    switch (v.type()) {
      case json::value_t::object:
        head(cbor_encode_map_start, v.size());
        for (const auto& [k, item] : v.items()) {
          text(k);
          write_plain(item);
        }
        return;
      case json::value_t::array:
        head(cbor_encode_array_start, v.size());
        for (const auto& item : v) write_plain(item);
        return;
      case json::value_t::string: return text(v.get_ref<const std::string&>());
      case json::value_t::boolean: return head(cbor_encode_bool, v.get<bool>());
      case json::value_t::number_integer: return integer(v.get<int64_t>());
      case json::value_t::number_unsigned: return head(cbor_encode_uint, v.get<uint64_t>());
      case json::value_t::number_float: return head(cbor_encode_double, v.get<double>());
      default: return null();
    }
  }

  // Appends one head (at most 9 bytes) written by a libcbor encoder.
  template <class Encode, class Value>
  void head(Encode encode, Value value) {
    size_t at = out_.size();
    out_.resize(at + 9);
    size_t n = encode(value, reinterpret_cast<unsigned char*>(out_.data() + at), 9);
    out_.resize(at + n);
  }

  void null() {
    size_t at = out_.size();
    out_.resize(at + 1);
    out_.resize(at + cbor_encode_null(reinterpret_cast<unsigned char*>(out_.data() + at), 1));
  }

  void integer(int64_t v) {
    if (v >= 0) return head(cbor_encode_uint, static_cast<uint64_t>(v));
    head(cbor_encode_negint, static_cast<uint64_t>(-1 - v));
  }

  void text(std::string_view s) {
    head(cbor_encode_string_start, s.size());
    out_.append(s);
  }

  void byte_string(std::string_view s) {
    head(cbor_encode_bytestring_start, s.size());
    out_.append(s);
  }

  std::string out_;
};

}  // namespace

Outcome<json> decode(std::string_view body) { return Decoder().run(body); }

std::string encode(const json& tree, const Shape* shape) {
  Writer w;
  w.write(tree, shape);
  return w.take();
}

}  // namespace sless::protocol::cbor
