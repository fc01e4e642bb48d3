// DNS wire format basics (RFC 1035 §4.1): header fields, flags, bounded reads.
// Everything that reads a packet goes through these, and none reads past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace diresolver::dns {

using Bytes = std::span<const uint8_t>;

constexpr size_t header_size = 12;
constexpr uint16_t type_opt = 41;
constexpr uint16_t class_in = 1;
constexpr size_t max_name_size = 255;

namespace flag {
constexpr uint16_t qr = 0x8000;
constexpr uint16_t opcode_mask = 0x7800;
constexpr uint16_t aa = 0x0400;
constexpr uint16_t tc = 0x0200;
constexpr uint16_t rd = 0x0100;
constexpr uint16_t ra = 0x0080;
constexpr uint16_t ad = 0x0020;
constexpr uint16_t cd = 0x0010;
constexpr uint16_t rcode_mask = 0x000f;
}  // namespace flag

// RCODEs diresolver reads or sends. BADVERS needs more than the header's four
// bits: its upper bits go in the OPT record (RFC 6891 §6.1.3).
enum class Rcode : uint16_t {
  noerror = 0,
  formerr = 1,
  servfail = 2,
  nxdomain = 3,
  notimp = 4,
  refused = 5,
  yxdomain = 6,
  badvers = 16,
};

// RFC 1035/2136 names of the header's four RCODE bits.
inline constexpr const char* rcode_names[16] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
                                                "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "RCODE11",
                                                "RCODE12",  "RCODE13", "RCODE14",  "RCODE15"};

// Extended DNS Error info codes (RFC 8914) that diresolver sends.
enum class Ede : uint16_t {
  stale_answer = 3,
  not_ready = 14,
  prohibited = 18,
  no_reachable_authority = 22,
  network_error = 23
};

inline uint16_t read_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t read_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
         p[3];
}
inline void write_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline uint16_t id_of(Bytes m) { return read_u16(m.data()); }
inline uint16_t flags_of(Bytes m) { return read_u16(m.data() + 2); }
inline uint16_t qdcount_of(Bytes m) { return read_u16(m.data() + 4); }
inline uint16_t ancount_of(Bytes m) { return read_u16(m.data() + 6); }
inline uint16_t nscount_of(Bytes m) { return read_u16(m.data() + 8); }
inline uint16_t arcount_of(Bytes m) { return read_u16(m.data() + 10); }
inline unsigned opcode_of(Bytes m) { return (flags_of(m) & flag::opcode_mask) >> 11; }
inline Rcode rcode_of(Bytes m) { return static_cast<Rcode>(flags_of(m) & flag::rcode_mask); }
inline bool is_truncated(Bytes m) { return (flags_of(m) & flag::tc) != 0; }
inline void set_id(std::span<uint8_t> m, uint16_t id) { write_u16(m.data(), id); }

// Reads an uncompressed name at pos into `out` in lower case (wire form);
// returns the offset after it and its size. Queries never need compression
// in the question, so a pointer there is treated as malformed.
struct NameRead {
  size_t end;
  size_t size;
};
std::optional<NameRead> read_name_lower(Bytes m, size_t pos, uint8_t (&out)[max_name_size]);

}  // namespace diresolver::dns
