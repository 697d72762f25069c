// Unit tests for core/config/config_diagnostics: "FILE:LINE: message" and the
// line order every caller relies on.
#include "core/config/config_diagnostics.h"

#include <gtest/gtest.h>

namespace ringlb {
namespace {

TEST(ConfigDiagnostics, AnErrorReadsFileLineMessage) {
    EXPECT_EQ((ConfigError{"/etc/ringlb/ringlb.conf", 12, "bad"}).to_string(), "/etc/ringlb/ringlb.conf:12: bad");
    EXPECT_EQ((ConfigError{"x.conf", 0, "cannot read: No such file or directory"}).to_string(),
              "x.conf:0: cannot read: No such file or directory");
}

TEST(ConfigDiagnostics, ErrorsComeBackByLineAndOneLinesErrorsKeepTheirOrder) {
    ConfigDiagnostics diag("f.conf");
    EXPECT_FALSE(diag.has_errors());
    diag.error(9, "late");
    diag.error(2, "first of line 2");
    diag.error(0, "whole file");
    diag.error(2, "second of line 2");
    EXPECT_TRUE(diag.has_errors());
    EXPECT_EQ(diag.take_sorted(), (std::vector<ConfigError>{{"f.conf", 0, "whole file"},
                                                             {"f.conf", 2, "first of line 2"},
                                                             {"f.conf", 2, "second of line 2"},
                                                             {"f.conf", 9, "late"}}));
}

}  // namespace
}  // namespace ringlb
