# cmake -DINPUT=... -DOUTPUT=... -DNAME=... -P EmbedFile.cmake
# Writes a header defining `inline constexpr char NAME[]` with the file's bytes.
file(READ "${INPUT}" content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," content "${content}")
file(WRITE "${OUTPUT}"
  "// Generated from ${INPUT}; do not edit.\n#pragma once\n"
  "inline constexpr char ${NAME}[] = {${content} 0};\n")
