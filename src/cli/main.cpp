#include "cli/commands.hpp"

int main(int argc, char** argv) { return gpucr::cli::run(argc, argv); }
