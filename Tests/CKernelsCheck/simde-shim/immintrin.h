// Stand-in for <immintrin.h> when the kernels are built over SIMDe (emulate.sh).
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
