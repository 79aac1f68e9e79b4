// regs: a raw write(1, "abcdef", 6) through the syscall instruction, then
// what came back in rax and what rdx (the length argument) holds after it;
// the kernel keeps argument registers across a syscall.
#include <stdio.h>

int main(void) {
	long ret, len = 6;
	static const char buf[] = "abcdef";
	__asm__ volatile("syscall"
			 : "=a"(ret), "+d"(len)
			 : "a"(1L), "D"(1L), "S"(buf)
			 : "rcx", "r11", "memory");
	printf("|ret %ld rdx %ld\n", ret, len);
	return 0;
}
