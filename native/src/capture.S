/* int durun_capture(struct dctx *c): saves the callee-saved registers, the
 * stack pointer and return address as they will be after `ret`, and the
 * x87/SSE state (fxsave64), then returns 0. A restored thread is put back here
 * through rt_sigreturn with rax = 1, so the call "returns twice". */
	.text
	.globl durun_capture
	.hidden durun_capture
	.type durun_capture, @function
durun_capture:
	movq %rbx, 0(%rdi)
	movq %rbp, 8(%rdi)
	movq %r12, 16(%rdi)
	movq %r13, 24(%rdi)
	movq %r14, 32(%rdi)
	movq %r15, 40(%rdi)
	leaq 8(%rsp), %rax
	movq %rax, 48(%rdi)
	movq (%rsp), %rax
	movq %rax, 56(%rdi)
	fxsave64 64(%rdi)
	xorl %eax, %eax
	ret
	.size durun_capture, .-durun_capture
	.section .note.GNU-stack,"",@progbits
