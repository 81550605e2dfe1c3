// Source of decorated names for the golden test: compiled with clang for
// *-pc-windows-msvc targets, its symbol names are fed to llvm-undname.
// No headers: everything it needs is declared here.
typedef decltype(sizeof(0)) size_t;
typedef decltype(nullptr) nullptr_t;
class type_info { public: virtual ~type_info(); const char *name() const; };
namespace std {
template <class T> struct char_traits {};
template <class T> class allocator {
public:
  T *allocate(size_t n);
  void deallocate(T *p, size_t n) noexcept;
};
template <class T, class A = allocator<T>> class vector {
public:
  vector();
  ~vector();
  void push_back(const T &v);
  void push_back(T &&v);
  template <class... Args> T &emplace_back(Args &&...args);
  template <class... V> void _Emplace_reallocate(V &&...v);
  T &operator[](size_t i);
  const T &operator[](size_t i) const;
  size_t size() const noexcept;
  static void _Xlength();
};
template <class C, class Tr = char_traits<C>, class A = allocator<C>> class basic_string {
public:
  basic_string(const C *s);
  basic_string(const basic_string &o);
  ~basic_string();
  basic_string &operator=(basic_string &&o);
  basic_string &operator+=(const basic_string &o);
  const C *c_str() const;
};
typedef basic_string<char> string;
typedef basic_string<wchar_t> wstring;
class exception {
public:
  exception() noexcept;
  virtual ~exception();
  virtual const char *what() const;
};
class bad_alloc : public exception {
public:
  bad_alloc() noexcept;
  ~bad_alloc() override;
  const char *what() const override;
};
template <class K, class V> struct pair { K first; V second; };
template <class K, class V, class L = int> class map {
public:
  V &operator[](const K &k);
  struct iterator { iterator &operator++(); bool operator!=(const iterator &) const; };
};
template <class F> class function;
template <class R, class... A> class function<R(A...)> {
public:
  R operator()(A... a) const;
};
template <class T, unsigned N> struct array { T elems[N]; T &at(unsigned i); };
} // namespace std

namespace google_breakpad {
struct AppMemory { unsigned long long ptr; unsigned long length; };
class CrashGenerationClient;
struct CustomClientInfo;
class ExceptionHandler {
public:
  typedef bool (*FilterCallback)(void *context, struct _EXCEPTION_POINTERS *exinfo, struct MDRawAssertionInfo *assertion);
  ExceptionHandler(const std::wstring &dump_path, FilterCallback filter, int handler_types);
  ~ExceptionHandler();
  bool WriteMinidump();
  static bool WriteMinidump(const std::wstring &dump_path, void *callback, void *context);
  void set_dump_path(const std::wstring &p) { (void)p; }
  int operator()(int) const volatile;
  operator bool() const;
  operator const char *();
private:
  static long __stdcall HandleException(struct _EXCEPTION_POINTERS *exinfo);
  static void HandleInvalidParameter(const wchar_t *expression, const wchar_t *function, const wchar_t *file, unsigned int line, size_t reserved);
  bool WriteMinidumpWithException(unsigned long requesting_thread_id, struct _EXCEPTION_POINTERS *exinfo, struct MDRawAssertionInfo *assertion);
  static std::vector<ExceptionHandler *> *handler_stack_;
  static volatile long instance_count_;
protected:
  virtual void Protected(int, ...);
  static int protected_static_;
};
} // namespace google_breakpad

namespace {
int anon_func(int x) { return x; }
struct AnonType { void method(); };
void AnonType::method() {}
} // namespace

struct Op {
  Op();
  Op(const Op &);
  Op(Op &&) noexcept;
  ~Op();
  Op &operator=(const Op &);
  Op &operator=(Op &&);
  Op operator+(const Op &) const;
  Op operator-(const Op &) const;
  Op operator*(const Op &) const;
  Op operator/(const Op &) const;
  Op operator%(const Op &) const;
  Op operator^(const Op &) const;
  Op operator&(const Op &) const;
  Op operator|(const Op &) const;
  Op operator~() const;
  bool operator!() const;
  bool operator<(const Op &) const;
  bool operator>(const Op &) const;
  bool operator<=(const Op &) const;
  bool operator>=(const Op &) const;
  bool operator==(const Op &) const;
  bool operator!=(const Op &) const;
  bool operator&&(const Op &) const;
  bool operator||(const Op &) const;
  Op &operator+=(const Op &);
  Op &operator-=(const Op &);
  Op &operator*=(const Op &);
  Op &operator/=(const Op &);
  Op &operator%=(const Op &);
  Op &operator^=(const Op &);
  Op &operator&=(const Op &);
  Op &operator|=(const Op &);
  Op &operator<<=(int);
  Op &operator>>=(int);
  Op operator<<(int) const;
  Op operator>>(int) const;
  Op &operator++();
  Op operator++(int);
  Op &operator--();
  Op operator--(int);
  Op *operator->();
  int Op::*operator->*(int);
  int operator()(int, int);
  int operator[](int);
  Op &operator,(Op &);
  static void *operator new(size_t);
  static void *operator new[](size_t);
  static void operator delete(void *);
  static void operator delete[](void *);
  void *operator new(size_t, void *);
  virtual void f() &;
  virtual void g() &&;
  virtual void h() const &;
  int member;
  void (Op::*mfp)(int);
};

void *operator new(size_t n);
void *operator new[](size_t n);
void operator delete(void *p) noexcept;
void operator delete(void *p, size_t n) noexcept;
void operator delete[](void *p) noexcept;
void *operator new(size_t n, const char *file, int line);

template <int N> struct Int {};
template <bool B> struct Bool {};
template <long long N> struct LL { static int v; };
template <char C> struct Ch {};
template <int *P> struct Ptr {};
template <class T> struct Box { template <class U> static void cast(U); };
int global_int;
template <class... T> void pack(T...);

void f_void();
void f_int(int);
int f_many(char, signed char, unsigned char, short, unsigned short, int, unsigned, long, unsigned long, long long, unsigned long long, float, double, long double, bool, wchar_t, char16_t, char32_t);
void f_ptrs(int *, const int *, int *const, const int *const, volatile int *, int **, const char *const *, int &, const int &, int &&);
void f_fp(void (*)(int), int (*)(void), void (*)(int, ...), void (*(*)(int))(char));
void f_arr(int (*)[4], int (&)[2][3], const char (&)[10]);
void f_memptr(int Op::*, void (Op::*)(int), int (Op::*)(int, int) const);
void f_var(const char *, ...);
void f_null(nullptr_t);
void f_backref(std::vector<int>, std::vector<int>, std::string, std::string, Op *, Op *, const Op &);
void f_templates(Int<0>, Int<1>, Int<10>, Int<11>, Int<-1>, Int<-100>, Int<256>, Int<2147483647>, Bool<true>, Bool<false>, Ch<'a'>, LL<-9223372036854775807LL - 1>, LL<4294967296LL>);
void f_ptrarg(Ptr<&global_int>);
void f_nested(std::map<std::string, std::vector<std::pair<int, std::wstring>>>, std::map<int, int>::iterator);
void f_func(std::function<int(const char *, double)>, std::function<void()>);
void f_array(std::array<int, 3> &, std::array<std::array<char, 2>, 5> *);
enum Color { Red };
enum class Scoped : unsigned char { A };
union U { int a; float b; };
void f_enum(Color, Scoped, U, U *, Color &);
struct Outer { struct Inner { struct Deep { static void fn(); }; }; template <class T> struct TInner { void fn(T); }; };
void (*f_return_fp(int))(char);
int (*f_return_arrp())[3];
const Op f_const_ret();
volatile int *f_volatile();
int *__restrict f_restrict(int *__restrict);
void __stdcall f_stdcall(int);
void __fastcall f_fastcall(int);
void __vectorcall f_vectorcall(int);
extern "C" void c_function(int);
int counter() { static int n = 0; return ++n; }
int counter2() { static int n = 0; static int m = n + 1; return ++m; }
const char *strs() { return "hello world\n\t\"quoted\"\\"; }
const wchar_t *wstrs() { return L"wide string"; }
const char *longstr() { return "this is a long string literal that is longer than thirty-two bytes"; }
const char16_t *u16strs() { return u"u16 string"; }
const char32_t *u32strs() { return U"u32"; }
const char *highstr() { return "caf\xc3\xa9 \x01\x7f"; }
std::string global_string("x");
Op global_op_array[3];
int global_matrix[2][3];
const int const_global = 3;
int *volatile volatile_global_ptr;
int lambda_user() { auto l = [](int x) { return x + 1; }; return l(2); }
template <class T> T tmax(T a, T b) { return a > b ? a : b; }
struct Virt : virtual Op { virtual void v(); };
struct Multi : google_breakpad::ExceptionHandler, std::exception { Multi(); virtual void f(); const char *what() const override; };
class Priv { private: void p(); static int s(); virtual int v(int); protected: void q(); static void r(); virtual void t(); public: static Priv inst; };

void use_all() {
  std::vector<int> v;
  v.push_back(1);
  int i = 2;
  v.push_back(i);
  v.emplace_back(3);
  v._Emplace_reallocate(i);
  v._Emplace_reallocate<const int &>(i);
  v[0];
  const std::vector<int> &cv = v;
  cv[0];
  cv.size();
  std::vector<int>::_Xlength();
  std::vector<google_breakpad::ExceptionHandler *> hv;
  hv.push_back(nullptr);
  google_breakpad::ExceptionHandler *hp = nullptr;
  hv.emplace_back(hp);
  hv.emplace_back(static_cast<google_breakpad::ExceptionHandler *&&>(hp));
  std::allocator<Op> a;
  a.deallocate(a.allocate(1), 1);
  std::wstring w(L"");
  w = static_cast<std::wstring &&>(w);
  w += w;
  w.c_str();
  std::string s("a");
  s.c_str();
  std::bad_alloc ba;
  ba.what();
  google_breakpad::ExceptionHandler h(w, nullptr, 1);
  h.WriteMinidump();
  google_breakpad::ExceptionHandler::WriteMinidump(w, nullptr, nullptr);
  h(1);
  (void)(bool)h;
  (void)(const char *)h;
  Op o, p2;
  o = p2; o = static_cast<Op &&>(p2);
  o + p2; o - p2; o * p2; o / p2; o % p2; o ^ p2; o & p2; o | p2; ~o; !o;
  (void)(o < p2); (void)(o > p2); (void)(o <= p2); (void)(o >= p2); (void)(o == p2); (void)(o != p2); (void)(o && p2); (void)(o || p2);
  o += p2; o -= p2; o *= p2; o /= p2; o %= p2; o ^= p2; o &= p2; o |= p2; o <<= 1; o >>= 1; o << 1; o >> 1;
  ++o; o++; --o; o--; o->member; o->*1; o(1, 2); o[1]; (o, p2);
  Op *np = new Op; delete np; Op *na = new Op[2]; delete[] na;
  int *ip = new int; delete ip; int *ia = new int[3]; delete[] ia;
  void *raw = operator new(4, "file", 1); operator delete(raw, 4);
  Op *pl = new (raw) Op;
  (void)pl;
  static_cast<Op &&>(o).g(); o.f(); o.h();
  f_void(); f_int(1);
  f_many(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  f_ptrs(0, 0, 0, 0, 0, 0, 0, i, i, 1);
  f_fp(0, 0, 0, 0);
  int a4[4]; int a23[2][3]; const char a10[10] = {};
  f_arr(&a4, a23, a10);
  f_memptr(0, 0, 0);
  f_var("x", 1, 2.0);
  f_null(nullptr);
  f_backref(v, v, s, s, &o, &o, o);
  f_templates({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});
  f_ptrarg({});
  f_nested({}, {});
  f_func({}, {});
  std::array<int, 3> ar; std::array<std::array<char, 2>, 5> ar2;
  f_array(ar, &ar2);
  ar.at(0);
  U u; Color c = Red;
  f_enum(Red, Scoped::A, u, &u, c);
  Outer::Inner::Deep::fn();
  Outer::TInner<std::string> ti; ti.fn(s);
  f_return_fp(1); f_return_arrp(); f_const_ret(); f_volatile(); f_restrict(0);
  f_stdcall(1); f_fastcall(1); f_vectorcall(1); c_function(1);
  anon_func(1); AnonType at; at.method();
  tmax(1, 2); tmax(1.0, 2.0); tmax<const char *>("a", "b");
  Box<int>::cast(1.0f); Box<std::vector<int>>::cast(&v);
  pack(); pack(1, 'c', 2.0); pack(v, s);
  LL<5>::v++;
  std::map<int, int>::iterator it; ++it; (void)(it != it);
  std::map<std::string, int> m; m["k"];
  std::function<int(const char *, double)> fn; fn("x", 1.0);
  Virt vt; vt.v();
  Multi mu; mu.f(); mu.what();
  lambda_user(); counter(); counter2(); strs(); wstrs(); longstr(); u16strs(); u32strs(); highstr();
  (void)typeid(mu);
}
