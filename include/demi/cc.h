/* demi/cc.h — compiler annotation macros used by the PDPIX headers.
 * Demikernel's headers mark parameters with SAL annotations (_In_, _Out_, ...) and
 * GCC's nonnull attribute; programs written for Demikernel use the same macros, so
 * margay defines them identically. Define DEMI_NO_NONNULL before including to drop
 * the nonnull attribute (margay's own sources do, so that its NULL checks are not
 * optimised away: a NULL argument must give EINVAL, not undefined behaviour). */
#ifndef DEMI_CC_H
#define DEMI_CC_H

#ifdef _MSC_VER
#include <sal.h>
#else
#define _In_
#define _In_z_
#define _In_opt_
#define _Inout_
#define _In_reads_(n)
#define _In_reads_bytes_(n)
#define _Out_
#define _Out_opt_
#define _Out_writes_(n)
#define _Out_writes_to_(n, m)
#define _Out_writes_to_opt_(n, m)
#define _Deref_pre_z_
#endif

#if defined(__GNUC__) && !defined(DEMI_NO_NONNULL)
#define ATTR_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define ATTR_NODISCARD __attribute__((warn_unused_result))
#elif defined(__GNUC__)
#define ATTR_NONNULL(...)
#define ATTR_NODISCARD __attribute__((warn_unused_result))
#else
#define ATTR_NONNULL(...)
#define ATTR_NODISCARD
#endif

#endif /* DEMI_CC_H */
