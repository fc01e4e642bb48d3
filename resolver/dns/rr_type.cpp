#include "dns/rr_type.hpp"

#include <ldns/ldns.h>

#include <cstdlib>
#include <memory>

namespace diresolver {

std::string rr_type_text(uint16_t type) {
  std::unique_ptr<char, decltype(&free)> text(ldns_rr_type2str(static_cast<ldns_rr_type>(type)), &free);
  return text ? std::string(text.get()) : "TYPE" + std::to_string(type);
}

}  // namespace diresolver
