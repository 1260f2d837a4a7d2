// The examples are only compiled and linked (see CMakeLists.txt): several talk to servers that are
// not there. Linking proves every name they use exists in the libraries, not just in the headers.
int main() { return 0; }
