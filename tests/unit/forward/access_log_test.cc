// Access log line format, pure.
#include <gtest/gtest.h>

#include "core/forward/access_log.h"

namespace ringlb {
namespace {

TEST(AccessLog, ALineHasEveryFieldAsKeyValue) {
    InetAddr client = *InetAddr::parse("127.0.0.1:51234");
    InetAddr backend = *InetAddr::parse("[2001:db8::1]:8080");
    AccessLogEntry e;
    e.wall_ms = 1763919662123;  // 2025-11-23T17:41:02.123Z
    e.client = &client;
    e.listener = "web";
    e.backend = &backend;
    e.bytes_in = 120;
    e.bytes_out = 4096;
    e.connect_us = 412;
    e.duration_ms = 20;
    e.retries = 1;
    e.reason = "done";
    std::string line;
    format_access_log_line(line, e);
    EXPECT_EQ(line,
              "time=2025-11-23T17:41:02.123Z client=127.0.0.1:51234 listener=web backend=[2001:db8::1]:8080 "
              "bytes_in=120 bytes_out=4096 connect_ms=0.412 duration_ms=20 retries=1 reason=done\n");
}

TEST(AccessLog, MissingPartsAreDashes) {
    InetAddr unknown;
    AccessLogEntry e;
    e.wall_ms = 0;
    e.client = &unknown;
    e.listener = "web";
    e.connect_us = -1;
    e.reason = "no-backend";
    std::string line = "previous line\n";
    format_access_log_line(line, e);
    EXPECT_EQ(line, "previous line\ntime=1970-01-01T00:00:00.000Z client=- listener=web backend=- bytes_in=0 "
                    "bytes_out=0 connect_ms=- duration_ms=0 retries=0 reason=no-backend\n");
}

TEST(AccessLog, ConnectTimeKeepsMicroseconds) {
    AccessLogEntry e;
    e.connect_us = 2003050;
    std::string line;
    format_access_log_line(line, e);
    EXPECT_NE(line.find(" connect_ms=2003.050 "), std::string::npos) << line;
}

}  // namespace
}  // namespace ringlb
