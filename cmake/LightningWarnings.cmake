# Warnings for our own targets. Designated initializers leave fields out on purpose, so GCC's
# missing-field-initializers warning is off (docs/architecture.md, "Options are plain structs").
function(lightning_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-missing-field-initializers
                                           -Wno-unused-parameter)
endfunction()
