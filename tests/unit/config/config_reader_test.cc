// Unit tests for core/config/config_reader: INI text → sections of entries with their
// lines, and every syntax error at its line. No section kinds or keys here.
#include "core/config/config_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringlb {
namespace {

struct Read {
    IniFile file;
    std::vector<std::string> errors;  // "FILE:LINE: message"
};

Read read(std::string_view text) {
    ConfigDiagnostics diag("r.conf");
    Read result;
    result.file = read_ini(text, diag);
    for (const ConfigError& error : diag.take_sorted()) result.errors.push_back(error.to_string());
    return result;
}

void expect_entry(const ConfigEntry& entry, std::string_view key, std::string_view value, int line) {
    EXPECT_EQ(entry.key, key);
    EXPECT_EQ(entry.value, value);
    EXPECT_EQ(entry.line, line);
}

TEST(ConfigReader, SectionsAndEntriesKeepFileOrderAndTheirLines) {
    Read r = read("[global]\nworkers = 2\n\n[listener.web]\nbind = 127.0.0.1:80\nbackend = a\nbackend = b\n");
    ASSERT_TRUE(r.errors.empty());
    EXPECT_TRUE(r.file.entries_before_any_section.empty());
    ASSERT_EQ(r.file.sections.size(), 2u);
    EXPECT_EQ(r.file.sections[0].header, "global");
    EXPECT_EQ(r.file.sections[0].line, 1);
    ASSERT_EQ(r.file.sections[0].entries.size(), 1u);
    expect_entry(r.file.sections[0].entries[0], "workers", "2", 2);
    EXPECT_EQ(r.file.sections[1].header, "listener.web");
    EXPECT_EQ(r.file.sections[1].line, 4);
    ASSERT_EQ(r.file.sections[1].entries.size(), 3u);
    expect_entry(r.file.sections[1].entries[1], "backend", "a", 6);
    expect_entry(r.file.sections[1].entries[2], "backend", "b", 7);
}

TEST(ConfigReader, SpacesTabsAndCarriageReturnsAroundHeadersKeysAndValuesAreDropped) {
    Read r = read(" \t[ listener.a ]\t\r\n\tkey\t=  two words \t\r\nlast=x");  // no final newline
    ASSERT_TRUE(r.errors.empty());
    ASSERT_EQ(r.file.sections.size(), 1u);
    EXPECT_EQ(r.file.sections[0].header, "listener.a");
    ASSERT_EQ(r.file.sections[0].entries.size(), 2u);
    expect_entry(r.file.sections[0].entries[0], "key", "two words", 2);
    expect_entry(r.file.sections[0].entries[1], "last", "x", 3);
}

TEST(ConfigReader, TheFirstEqualsSplitsAndAValueMayBeEmpty) {
    Read r = read("[s]\na = b = c\nempty =\n");
    ASSERT_TRUE(r.errors.empty());
    ASSERT_EQ(r.file.sections[0].entries.size(), 2u);
    expect_entry(r.file.sections[0].entries[0], "a", "b = c", 2);
    expect_entry(r.file.sections[0].entries[1], "empty", "", 3);
}

TEST(ConfigReader, AHashStartsACommentAnywhereAndBlankLinesCountForLineNumbers) {
    Read r = read("# heading\n\n[s] # the section\n   # indented\nk = v#w\n\n\nm = n # note\n");
    ASSERT_TRUE(r.errors.empty());
    ASSERT_EQ(r.file.sections.size(), 1u);
    EXPECT_EQ(r.file.sections[0].line, 3);
    ASSERT_EQ(r.file.sections[0].entries.size(), 2u);
    expect_entry(r.file.sections[0].entries[0], "k", "v", 5);
    expect_entry(r.file.sections[0].entries[1], "m", "n", 8);
}

TEST(ConfigReader, KeysAboveTheFirstHeaderAreKeptApartForTheCallerToJudge) {
    Read r = read("a = 1\nb = 2\n[s]\nc = 3\n");
    ASSERT_TRUE(r.errors.empty());
    ASSERT_EQ(r.file.entries_before_any_section.size(), 2u);
    expect_entry(r.file.entries_before_any_section[1], "b", "2", 2);
    ASSERT_EQ(r.file.sections.size(), 1u);
    ASSERT_EQ(r.file.sections[0].entries.size(), 1u);
}

TEST(ConfigReader, EverySyntaxErrorIsReportedAtItsLine) {
    Read r = read(std::string("[s]\nok = 1\nword\n[]\n[  ]\n= 5\n; old = comment\n[s.x\nnul = a") + '\0' +
                  "b\n# comment with nul " + '\0' + "\n  ; indented\n");
    EXPECT_EQ(r.errors, (std::vector<std::string>{
                            "r.conf:3: expected '[section]' or 'key = value', found 'word'",
                            "r.conf:4: empty section name '[]'",
                            "r.conf:5: empty section name '[  ]'",
                            "r.conf:6: missing key before '='",
                            "r.conf:7: ';' does not start a comment; use '#'",
                            "r.conf:8: expected '[section]' or 'key = value', found '[s.x'",
                            "r.conf:9: line contains a NUL byte",
                            "r.conf:10: line contains a NUL byte",
                            "r.conf:11: expected '[section]' or 'key = value', found '; indented'",
                        }));
    // Bad lines add nothing: one section, one entry.
    ASSERT_EQ(r.file.sections.size(), 1u);
    ASSERT_EQ(r.file.sections[0].entries.size(), 1u);
}

TEST(ConfigReader, EmptyAndCommentOnlyTextsHaveNoSections) {
    for (std::string_view text : {"", "\n\n", "# only a comment", "  \t\r\n"}) {
        Read r = read(text);
        EXPECT_TRUE(r.errors.empty()) << text;
        EXPECT_TRUE(r.file.sections.empty()) << text;
        EXPECT_TRUE(r.file.entries_before_any_section.empty()) << text;
    }
}

}  // namespace
}  // namespace ringlb
