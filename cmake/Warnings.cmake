# One place for compiler flags that every target of ours gets.
add_library(bpfsign_flags INTERFACE)
target_compile_options(bpfsign_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wimplicit-fallthrough -Wformat=2)
if(BPFSIGN_WERROR)
  target_compile_options(bpfsign_flags INTERFACE -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # g++ 12 at -O3 reports overlaps and overflows inside libstdc++'s own
  # std::string and std::vector code that cannot happen (GCC bugs 105329,
  # 105651, 106199: fixed in 13): in `"x" + std::string`, string assignment
  # and vector::back(). Those two warnings are off for g++ 12 only.
  target_compile_options(bpfsign_flags INTERFACE -Wno-restrict -Wno-stringop-overflow)
endif()
if(BPFSIGN_SANITIZE)
  target_compile_options(bpfsign_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(bpfsign_flags INTERFACE -fsanitize=address,undefined)
endif()
if(BPFSIGN_BUILD_FUZZ)
  # Coverage instrumentation for everything of ours, so the libFuzzer
  # targets are guided by the library code they exercise (not only by the
  # few lines of each target); the targets link libFuzzer itself.
  target_compile_options(bpfsign_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()
