/* A shared object without the sless entry point. */
int not_a_plugin(void) { return 42; }
