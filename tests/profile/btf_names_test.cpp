// The BTF reader names types as dwarf2json does (typedef'd structs under the typedef's
// name, enums under their own, _Bool signed, bitfields at the byte of their first bit,
// anonymous members numbered in hex), on BTF made here with libbpf's writer.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "profile/btf_reader.hpp"
#include "profile/profile.hpp"

using namespace vmitrace;
using namespace vmitrace::profile;

namespace {

Profile load(btf* b) {
  uint32_t size = 0;
  const void* raw = btf__raw_data(b, &size);
  Profile p;
  load_btf_types(static_cast<const uint8_t*>(raw), size, "test.btf", p);
  return p;
}

}  // namespace

TEST(BtfNames, TypedefsEnumsBoolAndBitfieldsAsDwarf2json) {
  btf* b = btf__new_empty();
  int u32 = btf__add_int(b, "unsigned int", 4, 0);
  int boolean = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
  // typedef struct { int counter; } atomic_t;  typedef atomic_t atomic_alias_t;
  int anon = btf__add_struct(b, "", 4);
  btf__add_field(b, "counter", u32, 0, 0);
  int atomic_t = btf__add_typedef(b, "atomic_t", anon);
  int alias = btf__add_typedef(b, "atomic_alias_t", atomic_t);
  // struct spinlock {...}; typedef struct spinlock spinlock_t;
  int spinlock = btf__add_struct(b, "spinlock", 4);
  btf__add_field(b, "val", u32, 0, 0);
  int spinlock_t = btf__add_typedef(b, "spinlock_t", btf__add_const(b, spinlock));
  // typedef enum { SS_FREE } socket_state;
  int state = btf__add_enum(b, "", 4);
  btf__add_enum_value(b, "SS_FREE", 0);
  int socket_state = btf__add_typedef(b, "socket_state", state);
  // struct holder: members of each kind, packed bitfields, two anonymous unions.
  int u1 = btf__add_union(b, "", 4);
  btf__add_field(b, "a", u32, 0, 0);
  int holder = btf__add_struct(b, "holder", 32);
  btf__add_field(b, "refs", atomic_t, 0, 0);
  btf__add_field(b, "alias", alias, 32, 0);
  btf__add_field(b, "lock", spinlock_t, 64, 0);
  btf__add_field(b, "plain", spinlock, 96, 0);
  btf__add_field(b, "state", socket_state, 128, 0);
  btf__add_field(b, "flag", boolean, 160, 0);
  btf__add_field(b, "low", u32, 168, 2);    // bits 168-169: byte 21, bit 0
  btf__add_field(b, "high", u32, 178, 3);   // bits 178-180: byte 22, bit 2
  btf__add_field(b, "", u1, 192, 0);
  btf__add_field(b, "", u1, 224, 0);
  ASSERT_GT(holder, 0);
  Profile p = load(b);
  btf__free(b);

  ASSERT_NE(p.type("atomic_t"), nullptr);
  EXPECT_EQ(p.type("atomic_t")->fields.count("counter"), 1u);
  EXPECT_EQ(p.type("atomic_alias_t"), nullptr);  // a typedef of a typedef is not copied
  ASSERT_NE(p.type("spinlock_t"), nullptr);
  EXPECT_EQ(p.type("spinlock_t")->size, 4u);
  EXPECT_EQ(p.field("holder", "refs")->type.name, "atomic_t");
  EXPECT_EQ(p.field("holder", "alias")->type.name, "atomic_t");  // the innermost typedef
  EXPECT_EQ(p.field("holder", "lock")->type.name, "spinlock_t");
  EXPECT_EQ(p.field("holder", "plain")->type.name, "spinlock");
  const Field* st = p.field("holder", "state");
  EXPECT_EQ(st->type.kind, "enum");
  EXPECT_EQ(st->type.name.rfind("unnamed_", 0), 0u) << st->type.name;  // not "socket_state"
  EXPECT_TRUE(p.base_types.at("_Bool").is_signed);
  const Field* low = p.field("holder", "low");
  EXPECT_EQ(low->offset, 21u);
  EXPECT_EQ(low->type.bit_position, 0u);
  const Field* high = p.field("holder", "high");
  EXPECT_EQ(high->offset, 22u);
  EXPECT_EQ(high->type.bit_position, 2u);
  EXPECT_EQ(high->type.bit_length, 3u);
  EXPECT_TRUE(p.field("holder", "unnamed_field_0")->anonymous);
  EXPECT_EQ(p.field("holder", "unnamed_field_1")->offset, 28u);
}

TEST(BtfNames, TypedefCopiesAreBounded) {
  // 2,100 typedefs of a 1,000-member struct would copy 2.1 million members.
  btf* b = btf__new_empty();
  int u32 = btf__add_int(b, "unsigned int", 4, 0);
  int big = btf__add_struct(b, "big", 4000);
  for (int i = 0; i < 1000; ++i) btf__add_field(b, ("m" + std::to_string(i)).c_str(), u32, i * 32, 0);
  for (int i = 0; i < 2100; ++i) btf__add_typedef(b, ("big_t" + std::to_string(i)).c_str(), big);
  std::string err;
  try {
    load(b);
  } catch (const Error& e) {
    err = e.what();
  }
  btf__free(b);
  EXPECT_EQ(err, "test.btf: implausible BTF: its typedefs name structs of more than 2000000 members in all");
}
