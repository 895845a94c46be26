# notebooks_cpp/git_commit.cmake — writes OUT, a header defining STABLENN_GIT_COMMIT: the short commit
# of SOURCE_DIR, with "+changes" when tracked files differ from it ("unknown" outside a git
# checkout). Run at every build (not only at configure time), so the results files and the book's
# provenance lines name the code that actually ran; OUT is rewritten only when the text changes, so
# an unchanged commit recompiles nothing.
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE status ERROR_QUIET)
if(NOT status EQUAL 0 OR commit STREQUAL "")
  set(commit unknown)
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE changes RESULT_VARIABLE status ERROR_QUIET)
  if(status EQUAL 0 AND NOT changes STREQUAL "")
    set(commit "${commit}+changes")
  endif()
endif()
set(text "#define STABLENN_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
