# Installs a fetchpipe build into PREFIX and builds and runs a consumer against it.
#   -DKIND=cmake       configure CONSUMER_SOURCE with CMAKE_PREFIX_PATH=PREFIX (find_package)
#   -DKIND=pkg-config  compile CONSUMER_SOURCE/main.cpp with the flags of `pkg-config fetchpipe`
#   -DSHARED=ON        BUILD_DIR is a shared-library build: check the versioned libraries, link
#                      pkg-config consumers without --static, run with LD_LIBRARY_PATH
#   -DSHARED_FROM=<fetchpipe source dir>  first build fetchpipe itself there as shared libraries
#                      (tests, benchmarks and examples off)
file(REMOVE_RECURSE ${PREFIX} ${CONSUMER_BUILD})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

if(SHARED_FROM)
  run(${CMAKE_COMMAND} -S ${SHARED_FROM} -B ${BUILD_DIR} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
    -DBUILD_SHARED_LIBS=ON -DFETCHPIPE_BUILD_TESTS=OFF -DFETCHPIPE_BUILD_BENCHMARKS=OFF
    -DFETCHPIPE_BUILD_EXAMPLES=OFF)
  run(${CMAKE_COMMAND} --build ${BUILD_DIR})
endif()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
if(SHARED)
  file(GLOB sonames ${PREFIX}/lib*/libfetchpipe_framework.so.*)
  if(NOT sonames)
    message(FATAL_ERROR "no versioned libfetchpipe_framework.so.* under ${PREFIX}")
  endif()
  message(STATUS "shared: ${sonames}")
endif()

if(KIND STREQUAL "pkg-config")
  file(GLOB pc_dir ${PREFIX}/lib*/pkgconfig)
  set(ENV{PKG_CONFIG_PATH} ${pc_dir})
  execute_process(COMMAND pkg-config --cflags --libs fetchpipe RESULT_VARIABLE rc
    OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config fetchpipe failed: ${err}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  file(MAKE_DIRECTORY ${CONSUMER_BUILD})
  run(${CXX} -std=c++20 ${CONSUMER_SOURCE}/main.cpp ${flags} -o ${CONSUMER_BUILD}/consumer)
  if(SHARED)
    file(GLOB lib_dir ${PREFIX}/lib*)
    set(ENV{LD_LIBRARY_PATH} ${lib_dir})
  endif()
else()
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${CONSUMER_BUILD} -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${PREFIX})
  run(${CMAKE_COMMAND} --build ${CONSUMER_BUILD})
endif()
run(${CONSUMER_BUILD}/consumer)
