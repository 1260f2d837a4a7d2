# The generated man page names the tool and has a section per command with that command's flags.
file(READ ${PAGE} page)
foreach(needle ".TH FETCHPIPE \"1\"" ".SH \"COMMAND GET\"" ".SH \"COMMAND SERVE\"" ".SH \"COMMAND BENCH\""
    ".SH \"COMMAND DEMO\"" "--max-attempts" "--retry-on" "--concurrency")
  string(FIND "${page}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${PAGE}: '${needle}' is missing")
  endif()
endforeach()
message(STATUS "man page: ok")
