// EDNS as hop-by-hop (RFC 6891 §6.1.1): diresolver writes its own OPT record
// on every message it sends, and no OPT it receives travels on. Upstream it
// asks with its own UDP size and the client's DO bit, never with the client's
// options (cookie, NSID, client subnet, padding, keepalive); upstream answers
// lose their OPT before the cache or a client sees them; clients get
// diresolver's header flags and OPT. So nothing one client or one server puts
// in a message reaches another client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dns/query.hpp"

namespace diresolver::dns {

// The UDP payload size diresolver advertises both ways (the 2020 DNS Flag Day's).
inline constexpr uint16_t own_udp_size = 1232;

// Appends diresolver's OPT record (ARCOUNT is the caller's): its UDP size,
// the upper bits of `rcode`, version 0, DO as given, and an Extended DNS Error
// when given.
void append_own_opt(std::vector<uint8_t>& out, bool do_bit, Rcode rcode = Rcode::noerror,
                    std::optional<Ede> ede = std::nullopt);

// The query diresolver sends upstream for a client's, into `out` (reused, so
// no allocation once warm): the client's question, its case kept (0x20), RD=1,
// the client's CD, ID 0 (each attempt writes its own), and diresolver's own OPT
// with the client's DO.
void write_upstream_query(Bytes client_packet, const ParsedQuery& query, std::vector<uint8_t>& out);

// An upstream answer (already checked: records bounded) without its OPT
// record: its new size, ARCOUNT lowered in place; records after the OPT go
// with it (servers put it last). nullopt when it cannot be passed on: an OPT
// outside the additional section, or one carrying an extended RCODE, which
// diresolver never asked for.
std::optional<size_t> without_opt(std::span<uint8_t> answer, size_t question_end);

// Makes `answer` (header, question and records, no OPT) the answer diresolver
// sends `client`: the client's ID and question bytes, QR=1, AA=0 (a forwarder
// is never authoritative), RA=1, AD=0 (diresolver does not validate), RD and
// CD as the client sent them, and, when the client used EDNS, diresolver's OPT
// with the client's DO and `ede` if given. No allocation when `answer` has
// room for the OPT.
void finish_answer(std::vector<uint8_t>& answer, Bytes client_packet, const ParsedQuery& client,
                   std::optional<Ede> ede = std::nullopt);

}  // namespace diresolver::dns
