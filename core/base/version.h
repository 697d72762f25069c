// The one place the version is written; packaging reads it from here.
#pragma once

#define RINGLB_VERSION "0.1.0"
