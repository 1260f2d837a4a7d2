# extract_examples.cmake — turns the code examples of the documentation into C++ the build compiles,
# so an example that stops matching the API breaks the build instead of misleading a reader.
#
#   cmake -DSOURCE_DIR=<repo> -DOUT_DIR=<dir> -P extract_examples.cmake          (generate)
#   cmake -DSOURCE_DIR=<repo> -DCHECK_EVERY_HEADER=ON -P extract_examples.cmake  (check only)
#
# What counts as an example:
#   - Markdown (README.md, docs/*.md): every fenced block opened with ```cpp. Use ```text (or no
#     language) for anything that is not meant to compile.
#   - Public headers (framework/include, policies/include, defaults/include, transports/*/include): a comment line
#     `// Example:` (anything may follow the colon) and the lines right after it that start with
#     `//   ` (two slashes, three spaces); the example ends at the first line that does not.
# How it is compiled:
#   - A Markdown block containing `int main(` is a complete program: its #include lines go to the
#     top of the file, the rest into a namespace of its own, with main renamed.
#   - Every other example is a fragment: the body of a function that sees every public fetchpipe
#     header, <cstdio>, <future>, <iostream>, <memory>, <string>, std::chrono_literals and one
#     given name, `client` (a fetchpipe::Client&). #include lines in a fragment are hoisted to the
#     top of both generated files (a fragment may need a header outside the prelude, e.g. Asio).
# `#line` directives make the compiler report errors at the line of the README or header.
# CHECK_EVERY_HEADER: fail when a public header has no example (STYLE: every public header starts
# with what it is for and a short example).

cmake_minimum_required(VERSION 3.25)

if(NOT SOURCE_DIR)
  message(FATAL_ERROR "extract_examples.cmake: SOURCE_DIR must be set")
endif()

file(GLOB_RECURSE headers
  ${SOURCE_DIR}/framework/include/*.hpp
  ${SOURCE_DIR}/policies/include/*.hpp
  ${SOURCE_DIR}/defaults/include/*.hpp
  ${SOURCE_DIR}/transports/*/include/*.hpp)
file(GLOB docs ${SOURCE_DIR}/docs/*.md)
set(markdown ${SOURCE_DIR}/README.md ${docs})
list(SORT headers)
list(SORT markdown)

# CMake lists split on ';' and treat '[' ']' as grouping, so those characters are swapped for
# placeholders while a file is handled as a list of lines, and restored on output.
function(read_lines path out_var)
  file(READ ${path} text)
  string(REPLACE ";" "@FP_SEMI@" text "${text}")
  string(REPLACE "[" "@FP_LB@" text "${text}")
  string(REPLACE "]" "@FP_RB@" text "${text}")
  string(REPLACE "\n" ";" text "${text}")
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

function(restore text out_var)
  string(REPLACE "@FP_SEMI@" ";" text "${text}")
  string(REPLACE "@FP_LB@" "[" text "${text}")
  string(REPLACE "@FP_RB@" "]" text "${text}")
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

# Splits an example into hoisted #include lines and the rest, each rest line preceded by its
# #line directive only where numbering jumps (after a hoisted include).
# `lines` holds "<line number>:<text>" items.
function(split_example path lines includes_var body_var)
  set(includes "")
  set(body "")
  set(expect -1)
  foreach(item IN LISTS lines)
    string(REGEX MATCH "^([0-9]+):(.*)$" _ "${item}")
    set(number ${CMAKE_MATCH_1})
    set(code "${CMAKE_MATCH_2}")
    if(code MATCHES "^[ \t]*#[ \t]*include")
      string(APPEND includes "#line ${number} \"${path}\"\n${code}\n")
      continue()
    endif()
    if(NOT number EQUAL expect)
      string(APPEND body "#line ${number} \"${path}\"\n")
    endif()
    string(APPEND body "${code}\n")
    math(EXPR expect "${number} + 1")
  endforeach()
  set(${includes_var} "${includes}" PARENT_SCOPE)
  set(${body_var} "${body}" PARENT_SCOPE)
endfunction()

set(fragment_count 0)
set(program_count 0)
set(fragments "")   # function definitions
set(includes_all "")
set(programs "")    # namespaces holding complete programs
set(headers_without_example "")

# Appends one example (a list of "<n>:<text>") to the generated code. A function, not a macro: a
# macro would substitute the code into its body as text and re-read escapes such as "\n".
function(add_example path lines)
  split_example(${path} "${lines}" ex_includes ex_body)
  string(APPEND includes_all "${ex_includes}")
  if(ex_body MATCHES "int main\\(")
    math(EXPR program_count "${program_count} + 1")
    string(APPEND programs
      "namespace program_${program_count} {\n#define main main_${program_count}\n${ex_body}#undef main\n}  // namespace program_${program_count}\n\n")
  else()
    math(EXPR fragment_count "${fragment_count} + 1")
    string(APPEND fragments
      "void fragment_${fragment_count}([[maybe_unused]] fetchpipe::Client& client) {\n{\n${ex_body}}\n}\n\n")
  endif()
  foreach(var includes_all programs fragments program_count fragment_count)
    set(${var} "${${var}}" PARENT_SCOPE)
  endforeach()
endfunction()

foreach(path IN LISTS markdown)
  read_lines(${path} file_lines)
  set(number 0)
  set(inside FALSE)
  set(current "")
  set(open_line 0)
  foreach(line IN LISTS file_lines)
    math(EXPR number "${number} + 1")
    if(NOT inside AND line MATCHES "^[ \t]*```cpp[ \t]*$")
      set(inside TRUE)
      set(current "")
      set(open_line ${number})
    elseif(inside AND line MATCHES "^[ \t]*```[ \t]*$")
      set(inside FALSE)
      if(current STREQUAL "")
        message(FATAL_ERROR "${path}:${open_line}: empty ```cpp block")
      endif()
      add_example(${path} "${current}")
    elseif(inside)
      list(APPEND current "${number}:${line}")
    endif()
  endforeach()
  if(inside)
    message(FATAL_ERROR "${path}:${open_line}: ```cpp block is never closed")
  endif()
endforeach()

foreach(path IN LISTS headers)
  read_lines(${path} file_lines)
  set(number 0)
  set(inside FALSE)
  set(current "")
  set(found FALSE)
  set(open_line 0)
  foreach(line IN LISTS file_lines)
    math(EXPR number "${number} + 1")
    if(inside)
      if(line MATCHES "^//   (.*)$")
        list(APPEND current "${number}:${CMAKE_MATCH_1}")
        continue()
      endif()
      set(inside FALSE)
      if(current STREQUAL "")
        message(FATAL_ERROR "${path}:${open_line}: '// Example:' with no '//   ' code lines after it")
      endif()
      add_example(${path} "${current}")
    endif()
    if(line MATCHES "^// Example")
      set(inside TRUE)
      set(found TRUE)
      set(current "")
      set(open_line ${number})
    endif()
  endforeach()
  if(inside)
    message(FATAL_ERROR "${path}:${open_line}: '// Example:' at the end of the file")
  endif()
  if(NOT found)
    file(RELATIVE_PATH relative ${SOURCE_DIR} ${path})
    list(APPEND headers_without_example ${relative})
  endif()
endforeach()

if(CHECK_EVERY_HEADER)
  if(headers_without_example)
    string(REPLACE ";" "\n  " shown "${headers_without_example}")
    message(FATAL_ERROR "public headers without a '// Example:' block:\n  ${shown}")
  endif()
  message(STATUS "every public header has an example (${fragment_count} fragments, ${program_count} programs)")
  return()
endif()

if(NOT OUT_DIR)
  message(FATAL_ERROR "extract_examples.cmake: OUT_DIR must be set")
endif()

# Every public header, from the same glob as above, so a new header is seen without editing here.
set(header_includes "")
foreach(path IN LISTS headers)
  string(REGEX REPLACE "^.*/include/" "" relative "${path}")
  string(APPEND header_includes "#include <${relative}>\n")
endforeach()

set(prelude "// Generated by tests/doc_examples/extract_examples.cmake from README.md, docs/*.md and the
// public headers. Do not edit: edit the example where it is documented.
${header_includes}
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <string>
")

# Complete programs get only their own includes, so a missing #include in a README program fails
# here as it would for a reader; fragments get the prelude.
restore("${includes_all}" includes_all)
restore("${fragments}" fragments)
restore("${programs}" programs)
file(WRITE ${OUT_DIR}/programs.cpp.new
  "// Generated by tests/doc_examples/extract_examples.cmake from the ```cpp programs of README.md and
// docs/*.md. Do not edit: edit the example where it is documented.
${includes_all}
#line 1 \"programs.cpp\"
${programs}")
file(WRITE ${OUT_DIR}/fragments.cpp.new
  "${prelude}
// Every example's own #include lines (a fragment may use a header outside the prelude, e.g. Asio).
${includes_all}
using namespace std::chrono_literals;

namespace fetchpipe_doc_examples {

${fragments}}  // namespace fetchpipe_doc_examples
")
# Rewritten only when changed, so an unrelated header edit does not recompile the examples.
foreach(name programs fragments)
  file(COPY_FILE ${OUT_DIR}/${name}.cpp.new ${OUT_DIR}/${name}.cpp ONLY_IF_DIFFERENT)
  file(REMOVE ${OUT_DIR}/${name}.cpp.new)
endforeach()
message(STATUS "doc examples: ${fragment_count} fragments, ${program_count} programs")
