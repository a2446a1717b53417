#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) { return casewatch::casewatch_main(argc, argv, std::cout, std::cerr); }
