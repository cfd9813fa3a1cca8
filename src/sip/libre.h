// libre, for the files that speak to it (src/sip/sip_stack.cpp, and the SIP and SDP fuzz targets):
// its umbrella header only (the others lack extern "C"), then the macros it defines that clash
// with everything else, taken away at once. Nothing else should include it.
#pragma once

extern "C" {
#include <re.h>
}
#undef VERSION
#undef OS
#undef ARCH
#undef MIN
#undef MAX
#undef ARRAY_SIZE
