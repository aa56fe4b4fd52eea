# ctest's first test: fails, saying what to do, when the test programs are not built (for example
# after scripts/run.sh, which builds only the server). Every other test requires it (a CTest
# fixture), so none of them runs against a missing program.
#   cmake -DPROGRAMS="a;b" -DPRESET=release -P require_built.cmake
set(missing "")
foreach(program IN LISTS PROGRAMS)
  if(NOT EXISTS "${program}")
    string(APPEND missing "\n  ${program}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "The tests are not built (scripts/run.sh builds only the server); missing:"
                      "${missing}\nBuild everything first, then run ctest again:\n"
                      "  cmake --build --preset ${PRESET} && ctest --preset ${PRESET}\n"
                      "(or run scripts/test.sh, which builds and runs both presets)")
endif()
