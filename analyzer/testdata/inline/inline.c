/* inline.c: nested inlined calls at -O2, for the inline-frame tests.
 * leaf is inlined into middle, middle into outer (twice), so addresses in
 * outer sit two inline levels deep; outer itself stays a real function. */
/* Built without a C runtime (-nostdlib), so the image holds only this
 * file's code and debug information. */

volatile int sink;

/* First in .text, so that the linker's ___crt_* symbols at the section's
 * start alias this function, not outer (llvm-symbolizer prefers symbol-table
 * names for the outermost frame). */
__attribute__((noinline)) void text_start(void)
{
    sink = 1;
}

static inline __attribute__((always_inline)) int leaf(int x)
{
    sink = x;
    return x * 3 + 1;
}

static inline __attribute__((always_inline)) int middle(int x)
{
    int y = leaf(x + 1);
    sink = y;
    return y ^ 5;
}

__attribute__((noinline)) int outer(int x)
{
    int r = middle(x);
    if (r == 42)
        sink = 0;
    return r + middle(r * 7);
}

int mainCRTStartup(void)
{
    text_start();
    return outer(sink);
}
