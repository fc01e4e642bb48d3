// The console half of `diresolver setup`: one question at a time, each answer
// checked at once (setup/validate.hpp) and asked again with the reason when it
// is wrong, then a summary to confirm.
#pragma once

#include <iosfwd>
#include <optional>

#include "setup/answers.hpp"

namespace diresolver {

// Starts from `answers` (the zone map a lab names); nullopt when the input
// ends, a problem no question can fix remains, or the summary is declined.
// `config_file`: where the answers are to be written (relative paths' base).
std::optional<SetupAnswers> ask_answers(SetupAnswers answers, std::istream& in, std::ostream& out,
                                        const std::string& config_file);

}  // namespace diresolver
