#include "dns/name.hpp"

#include <ldns/ldns.h>

#include <cctype>
#include <memory>

#include "dns/wire.hpp"

namespace diresolver {

namespace {

struct RdfFree {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

RdfPtr dname_from_text(const std::string& text) { return RdfPtr(ldns_dname_new_frm_str(text.c_str())); }

}  // namespace

bool is_host_label(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (unsigned char c : label)
    if (!std::isalnum(c) && c != '-') return false;
  return true;
}

std::optional<std::string> normalize_zone_name(std::string_view text, std::string* why) {
  std::string name(text);
  if (name.empty()) {
    if (why) *why = "empty zone name";
    return std::nullopt;
  }
  if (name.back() != '.') name += '.';
  auto rdf = dname_from_text(name);
  if (!rdf) {
    if (why) {
      why->assign(1, '"');
      why->append(text).append("\" is not a valid domain name");
    }
    return std::nullopt;
  }
  ldns_dname2canonical(rdf.get());
  std::unique_ptr<char, decltype(&free)> printed(ldns_rdf2str(rdf.get()), &free);
  return std::string(printed.get());
}

std::string zone_name_to_wire(const std::string& normalized) {
  auto rdf = dname_from_text(normalized);
  if (!rdf) return std::string(1, '\0');
  ldns_dname2canonical(rdf.get());
  return std::string(reinterpret_cast<const char*>(ldns_rdf_data(rdf.get())), ldns_rdf_size(rdf.get()));
}

std::string wire_name_to_text(std::string_view wire) {
  // ldns_rdf_new borrows the bytes; ldns_rdf_free releases only the wrapper.
  std::unique_ptr<ldns_rdf, decltype(&ldns_rdf_free)> rdf(
      ldns_rdf_new(LDNS_RDF_TYPE_DNAME, wire.size(), const_cast<char*>(wire.data())), &ldns_rdf_free);
  if (!rdf) return "?";
  std::unique_ptr<char, decltype(&free)> printed(ldns_rdf2str(rdf.get()), &free);
  return printed ? std::string(printed.get()) : std::string("?");
}

}  // namespace diresolver
