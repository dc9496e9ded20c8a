// GCC 13's libstdc++ exports std::ios_base_library_init() (GLIBCXX_3.4.32) and code compiled
// with it calls that function to initialise iostreams. TorchSharp 0.107's libLibTorchSharp.so
// was built that way; Debian 12 ships GCC 12's libstdc++, which lacks it. This library provides
// the one missing function under the same symbol version; fix-libtorchsharp.sh makes the
// patched libLibTorchSharp.so load it. See build/native/README.md.
#include <ios>

namespace std {
void ios_base_library_init() {
    // Constructing an Init object is what GCC 12 emits per translation unit to set up cout/cin.
    static ios_base::Init init;
}
}
