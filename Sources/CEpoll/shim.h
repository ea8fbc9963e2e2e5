// Linux epoll(7), which the Glibc module does not import.
#include <sys/epoll.h>
