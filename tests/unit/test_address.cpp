// Endpoint and prefix parsing, and the client ACL.
#include <doctest/doctest.h>

#include "net/address.hpp"

using namespace diresolver;

TEST_CASE("endpoints parse with and without ports") {
  struct Case {
    const char* text;
    const char* expected;  // nullptr: must fail
  };
  const Case cases[] = {
      {"127.0.0.1", "127.0.0.1:53"},
      {"127.0.0.1:5300", "127.0.0.1:5300"},
      {"::1", "[::1]:53"},
      {"[::1]:5300", "[::1]:5300"},
      {"[2001:db8::1]", "[2001:db8::1]:53"},
      {"2001:db8::1", "[2001:db8::1]:53"},
      {"127.0.0.1:0", nullptr},
      {"127.0.0.1:", nullptr},
      {"[::1", nullptr},
      {"localhost", nullptr},
      {"1.2.3.4:53x", nullptr},
      {"", nullptr},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto parsed = SockAddr::parse(c.text, 53);
    if (c.expected) {
      REQUIRE(parsed);
      CHECK(parsed->to_string() == c.expected);
    } else {
      CHECK_FALSE(parsed);
    }
  }
}

TEST_CASE("the ACL matches prefixes, including v4-mapped clients") {
  auto client = [](const char* text) { return *SockAddr::parse(text, 1000); };
  Acl acl({*Prefix::parse("10.0.0.0/8"), *Prefix::parse("192.168.1.0/25"), *Prefix::parse("fd00::/8")});
  CHECK(acl.allows(client("10.1.2.3").get()));
  CHECK(acl.allows(client("192.168.1.127").get()));
  CHECK_FALSE(acl.allows(client("192.168.1.128").get()));
  CHECK_FALSE(acl.allows(client("11.0.0.1").get()));
  CHECK(acl.allows(client("fd12::1").get()));
  CHECK_FALSE(acl.allows(client("fe80::1").get()));
  CHECK(acl.allows(client("::ffff:10.9.9.9").get()));
  CHECK_FALSE(acl.allows(client("::ffff:8.8.8.8").get()));

  Acl defaults(default_acl_prefixes());
  CHECK(defaults.allows(client("127.0.0.1").get()));
  CHECK(defaults.allows(client("::1").get()));
  CHECK(defaults.allows(client("172.31.255.255").get()));
  CHECK_FALSE(defaults.allows(client("172.32.0.1").get()));
  CHECK_FALSE(defaults.allows(client("203.0.113.9").get()));
  CHECK_FALSE(defaults.allows(client("2001:db8::1").get()));
}

TEST_CASE("bad prefixes say why") {
  std::string why;
  CHECK_FALSE(Prefix::parse("10.0.0.0/", &why));
  CHECK(why == "prefix length must be 0 to 32");
  CHECK_FALSE(Prefix::parse("::/129", &why));
  CHECK(why == "prefix length must be 0 to 128");
  CHECK_FALSE(Prefix::parse("ten/8", &why));
  CHECK(why == "not an IPv4 or IPv6 address");
  CHECK(Prefix::parse("0.0.0.0/0")->contains(SockAddr::parse("8.8.8.8", 53)->get()));
}
