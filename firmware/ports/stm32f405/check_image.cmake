# Checks the firmware image's budgets: flash (text+data) <= 64 KiB, static RAM (data+bss) <= 20 KiB,
# and no heap, exception or RTTI symbol anywhere in the linked ELF (defined or referenced).
# Usage: cmake -DELF=<image.elf> -DSIZE=<arm-none-eabi-size> -DNM=<arm-none-eabi-nm> -P check_image.cmake
set(flash_budget 65536)
set(ram_budget 20480)
if(NOT EXISTS "${ELF}")
  message(FATAL_ERROR "no firmware image at ${ELF}: build the default target first")
endif()

execute_process(COMMAND ${SIZE} ${ELF} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SIZE} failed on ${ELF}")
endif()
# Berkeley format: a header line, then "text data bss dec hex filename".
string(REGEX MATCH "\n[ \t]*([0-9]+)[ \t]+([0-9]+)[ \t]+([0-9]+)" m "${out}")
if(NOT m)
  message(FATAL_ERROR "cannot parse ${SIZE} output:\n${out}")
endif()
set(text ${CMAKE_MATCH_1})
set(data ${CMAKE_MATCH_2})
set(bss ${CMAKE_MATCH_3})
math(EXPR flash "${text} + ${data}")
math(EXPR ram "${data} + ${bss}")
message("firmware image: flash ${flash} / ${flash_budget} B (text ${text} + data ${data}), "
        "static RAM ${ram} / ${ram_budget} B (data ${data} + bss ${bss})")

set(failures "")
if(flash GREATER flash_budget)
  list(APPEND failures "flash ${flash} B over the ${flash_budget} B budget")
endif()
if(ram GREATER ram_budget)
  list(APPEND failures "static RAM ${ram} B over the ${ram_budget} B budget")
endif()

execute_process(COMMAND ${NM} ${ELF} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${ELF}")
endif()
# Heap (C and C++), exceptions, thread-safe static guards and RTTI (typeinfo objects and names).
set(forbidden "malloc|free|calloc|realloc|_malloc_r|_free_r|_calloc_r|_realloc_r|_sbrk|_sbrk_r|")
string(APPEND forbidden "_Znw[a-zA-Z0-9_]*|_Zna[a-zA-Z0-9_]*|_Zdl[a-zA-Z0-9_]*|_Zda[a-zA-Z0-9_]*|")
string(APPEND forbidden "__cxa_allocate_exception|__cxa_throw|__gxx_personality_v0|")
string(APPEND forbidden "__cxa_guard_acquire|_ZTI[a-zA-Z0-9_]*|_ZTS[a-zA-Z0-9_]*")
string(REGEX MATCHALL "[ \t][a-zA-Z][ \t](${forbidden})\n" hits "${syms}\n")
if(hits)
  string(REGEX REPLACE "[ \t][a-zA-Z][ \t]|\n" " " names "${hits}")
  list(APPEND failures "forbidden symbols (heap, exceptions or RTTI):${names}")
endif()

if(failures)
  string(REPLACE ";" "\n  " text "${failures}")
  message(FATAL_ERROR "firmware image budget check failed:\n  ${text}")
endif()
message("firmware image: no heap, exception or RTTI symbols")
