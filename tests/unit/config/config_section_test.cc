// Unit tests for core/config/config_section: the key-table runner every section
// parser uses (unknown keys, repeats, labels) and the duplicate-name bookkeeping.
#include "core/config/config_section.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ringlb {
namespace {

struct Target {
    int number = 0;
    std::vector<std::string> tags;
};

const ConfigKeyRule<Target> kRules[] = {
    {"number", false, [](Target& t, const ConfigEntry& e) { return set_number(t.number, e, 1, 9); }},
    {"tag", true,
     [](Target& t, const ConfigEntry& e) -> ValueError {
         t.tags.push_back(e.value);
         return std::nullopt;
     }},
};

std::vector<std::string> apply(const ConfigSection& section, Target& target) {
    ConfigDiagnostics diag("s.conf");
    apply_config_keys<Target>(section, kRules, target, "thing 'x'", diag);
    std::vector<std::string> texts;
    for (const ConfigError& error : diag.take_sorted()) texts.push_back(error.to_string());
    return texts;
}

TEST(ConfigSection, EachKeyGoesThroughItsRule) {
    ConfigSection section{"x", 1, {{"number", "4", 2}, {"tag", "a", 3}, {"tag", "b", 4}}};
    Target target;
    EXPECT_TRUE(apply(section, target).empty());
    EXPECT_EQ(target.number, 4);
    EXPECT_EQ(target.tags, (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigSection, UnknownRepeatedAndBadKeysAreReportedWithTheLabelAndTheFirstValueIsKept) {
    ConfigSection section{"x", 1, {{"number", "3", 2}, {"colour", "red", 3}, {"number", "5", 4}, {"tag", "", 5}}};
    Target target;
    EXPECT_EQ(apply(section, target), (std::vector<std::string>{
                                          "s.conf:3: thing 'x': unknown key 'colour'",
                                          "s.conf:4: thing 'x': number given twice (lines 2 and 4)",
                                      }));
    EXPECT_EQ(target.number, 3);
    EXPECT_EQ(target.tags, std::vector<std::string>{""});

    ConfigSection bad{"x", 1, {{"number", "10", 6}}};
    EXPECT_EQ(apply(bad, target),
              std::vector<std::string>{"s.conf:6: thing 'x': bad number '10' (expected a number 1..9)"});
}

TEST(ConfigSection, FindReturnsTheFirstEntryWithTheKey) {
    ConfigSection section{"x", 1, {{"tag", "a", 2}, {"tag", "b", 3}}};
    ASSERT_NE(section.find("tag"), nullptr);
    EXPECT_EQ(section.find("tag")->line, 2);
    EXPECT_EQ(section.find("number"), nullptr);
}

TEST(ConfigSection, ARepeatedSectionNameIsReportedAtItsHeaderNamingTheFirst) {
    ConfigDiagnostics diag("s.conf");
    std::map<std::string, int> header_lines;
    EXPECT_TRUE(is_first_section_of_its_name(header_lines, ConfigSection{"web", 3, {}}, "listener", diag));
    EXPECT_TRUE(is_first_section_of_its_name(header_lines, ConfigSection{"api", 8, {}}, "listener", diag));
    EXPECT_FALSE(is_first_section_of_its_name(header_lines, ConfigSection{"web", 12, {}}, "listener", diag));
    const auto errors = diag.take_sorted();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].to_string(), "s.conf:12: duplicate listener 'web' (first at line 3)");
}


struct Named {
    std::string name;
    int line = 0;
    uint8_t count = 5;
    Millis wait{100};
    Millis timeout{100};
    bool on = false;
    SpliceMode splice = SpliceMode::kAuto;
};

const ConfigKeyRule<Named> kNamedRules[] = {
    {"count", false, number_key<&Named::count, 1, 200>},
    {"wait", false, duration_key<&Named::wait>},
    {"timeout", false, positive_duration_key<&Named::timeout>},
    {"on", false, bool_key<&Named::on>},
    {"splice", false, named_key<&Named::splice, kSpliceModeNames>},
};

TEST(ConfigSection, ANamedSectionBuildsItsObjectWithNameLineAndEveryFieldRule) {
    ConfigDiagnostics diag("s.conf");
    const ConfigSection section{
        "n1",
        4,
        {{"count", "200", 5}, {"wait", "0", 6}, {"timeout", "2s", 7}, {"on", "true", 8}, {"splice", "never", 9}}};
    Named built = build_named_section<Named>(section, kNamedRules, section_label("thing", section), diag);
    EXPECT_FALSE(diag.has_errors());
    EXPECT_EQ(built.name, "n1");
    EXPECT_EQ(built.line, 4);
    EXPECT_EQ(built.count, 200);
    EXPECT_EQ(built.wait, Millis{0});
    EXPECT_EQ(built.timeout, Millis{2000});
    EXPECT_TRUE(built.on);
    EXPECT_EQ(built.splice, SpliceMode::kNever);
}

TEST(ConfigSection, FieldRulesReportWithTheSectionLabelAndLeaveTheDefaults) {
    ConfigDiagnostics diag("s.conf");
    const ConfigSection section{
        "n2", 1, {{"count", "201", 2}, {"wait", "1.5s", 3}, {"timeout", "0", 4}, {"on", "1", 5}, {"splice", "x", 6}}};
    Named built = build_named_section<Named>(section, kNamedRules, section_label("thing", section), diag);
    std::vector<std::string> texts;
    for (const ConfigError& error : diag.take_sorted()) texts.push_back(error.to_string());
    EXPECT_EQ(texts, (std::vector<std::string>{
                         "s.conf:2: thing 'n2': bad count '201' (expected a number 1..200)",
                         "s.conf:3: thing 'n2': bad duration '1.5s' for wait (expected a whole number with ms, s, "
                         "m or h, e.g. 500ms, 3s, 15m, 1h)",
                         "s.conf:4: thing 'n2': timeout must be greater than 0",
                         "s.conf:5: thing 'n2': bad on '1' (expected true or false)",
                         "s.conf:6: thing 'n2': unknown splice 'x' (expected auto, always or never)",
                     }));
    EXPECT_EQ(built.count, 5);
    EXPECT_EQ(built.wait, Millis{100});
    EXPECT_EQ(built.timeout, Millis{100});
    EXPECT_FALSE(built.on);
    EXPECT_EQ(built.splice, SpliceMode::kAuto);
}

}  // namespace
}  // namespace ringlb
