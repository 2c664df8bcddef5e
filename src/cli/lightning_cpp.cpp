// The `lightning-cpp` command: train the built-in models (MLPClassifier, MLPRegressor) on CSV data
// from YAML configs, without writing C++. `lightning-cpp fit --help` lists every option.

#include <lightning/cli/cli.h>

int main(int argc, char** argv) { return lightning::cli::main(argc, argv); }
