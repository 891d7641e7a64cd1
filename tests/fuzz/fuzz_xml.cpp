// fuzz_xml: protocol::xml::parse_document on S3 request bodies. An input is
//
//   <shape byte> XML
//
// The byte picks the payload shape of one of S3's operations that take an XML body
// (CreateBucketConfiguration, Delete, CompletedMultipartUpload, CORSConfiguration, Tagging,
// NotificationConfiguration, BucketLifecycleConfiguration, ...). What parses must survive a
// round trip through the writer: write_structure(parse(x)) parses again to the same tree.
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_checks.h"
#include "fuzz_target.h"
#include "protocol/model.h"
#include "protocol/xml.h"

namespace {

using namespace sless;

// S3's XML payload shapes, in operation order.
const std::vector<const protocol::Shape*>& payload_shapes() {
  static const std::vector<const protocol::Shape*> shapes = [] {
    std::vector<const protocol::Shape*> out;
    const auto* s3 = protocol::ModelRegistry::instance().get("s3");
    for (const auto* op : s3->sorted_operations()) {
      if (!op->input || op->input->payload.empty()) continue;
      const protocol::Member* pm = op->input->find_member(op->input->payload);
      if (!pm || pm->shape->type != protocol::ShapeType::kStructure) continue;
      if (std::find(out.begin(), out.end(), pm->shape) == out.end()) out.push_back(pm->shape);
    }
    return out;
  }();
  return shapes;
}

}  // namespace

SLESS_FUZZ_TARGET(xml) {
  fuzz::Input in(data, size);
  const auto& shapes = payload_shapes();
  const protocol::Shape& shape = *shapes[in.byte() % shapes.size()];
  auto parsed = protocol::xml::parse_document(in.rest(), shape);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error().code == "MalformedXML");
    return 0;
  }
  FUZZ_CHECK(parsed.value().is_object());

  std::string written = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  protocol::xml::write_structure(written, shape.name, "http://s3.amazonaws.com/doc/2006-03-01/", shape,
                                 parsed.value());
  FUZZ_CHECK(fuzz::well_formed_xml(written));
  auto again = protocol::xml::parse_document(written, shape);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value() == parsed.value());
  return 0;
}
