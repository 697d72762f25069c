// Fuzz target: the VRRPv3 advert codec. The input is decoded as a received IPv4 packet (an
// accepted advert re-encodes to the same bytes), and is also read as the fields of an advert
// that is encoded, wrapped in an IPv4 header and decoded, which must give it back unchanged.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/fuzz/targets.h"
#include "vrrp/vrrp_packet.h"

namespace ringlb::fuzz {
namespace vrrp_packet_target {

constexpr const char* kTarget = "fuzz_vrrp_packet";
constexpr size_t kIpv4MinHeader = 20;

using Bytes = std::vector<uint8_t>;

std::string hex(std::span<const uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 0xf];
    }
    return out;
}

std::string describe(const Advert& advert) {
    std::string text = "src " + format_ipv4(advert.source) + " dst " + format_ipv4(advert.destination) +
                       " vrid " + std::to_string(advert.vrid) + " prio " + std::to_string(advert.priority) +
                       " interval " + std::to_string(advert.max_advert_interval.count()) + "ms addrs";
    for (Ipv4 address : advert.addresses) text += " " + format_ipv4(address);
    return text;
}

bool same_advert(const Advert& a, const Advert& b) {
    return a.source == b.source && a.destination == b.destination && a.vrid == b.vrid &&
           a.priority == b.priority && a.max_advert_interval == b.max_advert_interval &&
           a.addresses == b.addresses;
}

// What a raw socket hands over: IPv4 header (IHL `header_words`, options zero, TTL 255,
// protocol 112) + `vrrp` + `padding` zero bytes of Ethernet padding.
Bytes wrap_in_ipv4(Ipv4 source, Ipv4 destination, const Bytes& vrrp, size_t header_words, size_t padding) {
    const size_t header = header_words * 4;
    Bytes packet(header + vrrp.size() + padding, 0);
    const size_t total = header + vrrp.size();
    packet[0] = uint8_t(0x40 | header_words);
    packet[2] = uint8_t(total >> 8);
    packet[3] = uint8_t(total);
    packet[8] = kVrrpTtl;
    packet[9] = kIpProtoVrrp;
    for (int i = 0; i < 4; ++i) {
        packet[12 + i] = uint8_t(source >> (24 - 8 * i));
        packet[16 + i] = uint8_t(destination >> (24 - 8 * i));
    }
    std::copy(vrrp.begin(), vrrp.end(), packet.begin() + std::ptrdiff_t(header));
    return packet;
}

// Takes bytes from the front of the input; zeros once it runs out.
class Reader {
public:
    Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    uint8_t u8() { return at_ < size_ ? data_[at_++] : 0; }
    uint16_t u16() { return uint16_t((u8() << 8) | u8()); }
    uint32_t u32() { return (uint32_t(u16()) << 16) | u16(); }
    size_t left() const { return size_ - std::min(at_, size_); }

private:
    const uint8_t* data_;
    size_t size_;
    size_t at_ = 0;
};

void check_decoded(std::span<const uint8_t> packet) {
    const DecodedAdvert decoded = decode_advert(packet);
    const std::string name = to_string(decoded.verdict);
    FUZZ_CHECK(kTarget, name != "unknown", "verdict " + std::to_string(int(decoded.verdict)));
    if (decoded.verdict != AdvertVerdict::kOk) return;

    const Advert& advert = decoded.advert;
    FUZZ_CHECK(kTarget, !advert.addresses.empty() && advert.addresses.size() <= kVrrpMaxAddresses,
               describe(advert));
    const size_t ihl = size_t(packet[0] & 0x0f) * 4;
    const size_t total = size_t(packet[2]) << 8 | packet[3];
    FUZZ_CHECK(kTarget, ihl >= kIpv4MinHeader && total >= ihl && total <= packet.size(), hex(packet));
    const auto payload = packet.subspan(ihl, total - ihl);
    FUZZ_CHECK(kTarget, vrrp_checksum(advert.source, advert.destination, payload) == 0, hex(packet));

    // Our encoder writes reserved bits as zero and never an interval of 0; otherwise it
    // must reproduce what it accepted byte for byte.
    const Bytes encoded = encode_advert(advert);
    const bool canonical = (payload[4] & 0xf0) == 0 && advert.max_advert_interval.count() != 0;
    if (canonical)
        FUZZ_CHECK(kTarget, std::equal(encoded.begin(), encoded.end(), payload.begin(), payload.end()),
                   "received " + hex(payload) + " re-encoded " + hex(encoded));
    const DecodedAdvert again = decode_advert(wrap_in_ipv4(advert.source, advert.destination, encoded, 5, 0));
    FUZZ_CHECK(kTarget, again.verdict == AdvertVerdict::kOk, to_string(again.verdict));
    Advert expected = advert;
    expected.max_advert_interval = std::max(advert.max_advert_interval, std::chrono::milliseconds(10));
    FUZZ_CHECK(kTarget, same_advert(again.advert, expected),
               "decoded " + describe(advert) + " re-decoded " + describe(again.advert));
}

void check_encoded(const uint8_t* data, size_t size) {
    Reader in(data, size);
    Advert advert;
    advert.source = in.u32();
    advert.destination = in.u32();
    advert.vrid = in.u8();
    advert.priority = in.u8();
    advert.max_advert_interval = std::chrono::milliseconds(in.u32() % 100'000);
    const size_t header_words = 5 + in.u8() % 11;  // IHL 5..15: options are skipped
    const size_t padding = in.u8() % 32;
    const size_t count = std::min<size_t>(in.u16() % 300, in.left() / 4 + 1);
    for (size_t i = 0; i < count; ++i) advert.addresses.push_back(in.u32());

    const Bytes vrrp = encode_advert(advert);
    const size_t sent = std::min(advert.addresses.size(), kVrrpMaxAddresses);
    FUZZ_CHECK(kTarget, vrrp.size() == kVrrpHeaderSize + 4 * sent, describe(advert));
    FUZZ_CHECK(kTarget, vrrp_checksum(advert.source, advert.destination, vrrp) == 0, hex(vrrp));

    // Padding is only legal up to the Ethernet minimum payload (46 bytes).
    const size_t unpadded = header_words * 4 + vrrp.size();
    const Bytes packet = wrap_in_ipv4(advert.source, advert.destination, vrrp, header_words,
                                      unpadded + padding <= 46 ? padding : 0);
    const DecodedAdvert decoded = decode_advert(packet);
    if (sent == 0) {
        FUZZ_CHECK(kTarget, decoded.verdict == AdvertVerdict::kBadAddressCount, to_string(decoded.verdict));
        return;
    }
    FUZZ_CHECK(kTarget, decoded.verdict == AdvertVerdict::kOk, std::string(to_string(decoded.verdict)) + ": " +
                                                                  describe(advert) + " sent as " + hex(packet));
    Advert expected = advert;
    expected.addresses.resize(sent);
    const int64_t centis = std::clamp<int64_t>(advert.max_advert_interval.count() / 10, 1, kVrrpMaxIntervalCs);
    expected.max_advert_interval = std::chrono::milliseconds(10 * centis);
    FUZZ_CHECK(kTarget, same_advert(decoded.advert, expected),
               "sent " + describe(expected) + " decoded " + describe(decoded.advert));
    check_decoded(packet);
}

}  // namespace vrrp_packet_target

int fuzz_vrrp_packet_one(const uint8_t* data, size_t size) {
    using namespace vrrp_packet_target;
    check_decoded(std::span<const uint8_t>(data, size));
    check_encoded(data, size);
    return 0;
}

}  // namespace ringlb::fuzz

FUZZ_ENTRY_POINT(ringlb::fuzz::fuzz_vrrp_packet_one)
