// The daemon's JSON reader for its hot paths is the SDK's (functions/include/sless/json_text.hpp):
// one parser for request bodies, function answers and plugins' service calls, in the daemon and in
// plugins alike.
#pragma once

#include "sless/json_text.hpp"
