// A record type's mnemonic for logs and messages: "AAAA", or "TYPE65280" for one
// without a name (RFC 3597 §5), as ldns prints it.
#pragma once

#include <cstdint>
#include <string>

namespace diresolver {

std::string rr_type_text(uint16_t type);

}  // namespace diresolver
