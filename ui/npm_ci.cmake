# Installs the UI's npm packages (`npm ci`) unless node_modules already holds
# what package-lock.json names (npm's own record, node_modules/.package-lock.json,
# is newer than the lock file), so a second build folder does not reinstall.
#   cmake -DNPM=<npm> -DUI=<ui folder> -DSTAMP=<file to touch> -P npm_ci.cmake
cmake_minimum_required(VERSION 3.25)
set(installed "${UI}/node_modules/.package-lock.json")
if(NOT EXISTS "${installed}" OR "${UI}/package-lock.json" IS_NEWER_THAN "${installed}")
  execute_process(COMMAND "${NPM}" ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY "${UI}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm ci in ${UI} failed (${rc}): the npm registry must be reachable once to install the UI's "
                        "packages; or configure with -DWATTLAB_BUILD_UI=OFF for a binary that serves a placeholder page")
  endif()
endif()
file(TOUCH "${STAMP}")
