#ifndef PCM_TEST_TOOLS_H
#define PCM_TEST_TOOLS_H

#ifdef PCM_TEST_HOOKS
void	 test_tools_register(void);
#endif

#endif
