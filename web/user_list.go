package web

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/dumptriage/dumptriage/store"
	"github.com/dumptriage/dumptriage/web/components"
)

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, code int, msg, errMsg string) {
	us, err := s.svc.ListUsers(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, code, components.Users(components.UsersView{Meta: s.meta("Users", "admin"), Users: us,
		Message: msg, Error: errMsg}))
}

func (s *Server) userList(w http.ResponseWriter, r *http.Request) {
	s.renderUsers(w, r, http.StatusOK, "", "")
}

func (s *Server) userAdd(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	role, err := store.ParseRole(r.PostFormValue("role"))
	var u store.User
	if err == nil {
		u, err = s.svc.AddUser(r.Context(), r.PostFormValue("name"), role, r.PostFormValue("password"))
	}
	if err != nil {
		s.formError(w, r, err, func(code int, msg string) { s.renderUsers(w, r, code, "", msg) })
		return
	}
	s.audit(r, store.AuditUserAdd, u.Name, "role "+string(role))
	s.renderUsers(w, r, http.StatusCreated, "Added "+u.Name+" ("+string(role)+").", "")
}

// lastAdmin refuses to leave the server without an admin.
func (s *Server) lastAdmin(r *http.Request, name string) (bool, error) {
	us, err := s.svc.ListUsers(r.Context())
	if err != nil {
		return false, err
	}
	admins, target := 0, false
	for _, u := range us {
		if u.Role == store.RoleAdmin {
			admins++
			target = target || u.Name == name
		}
	}
	return target && admins == 1, nil
}

func (s *Server) userRole(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if err := parseForm(w, r); err != nil {
		s.failPage(w, r, err)
		return
	}
	role, err := store.ParseRole(r.PostFormValue("role"))
	if err == nil && role != store.RoleAdmin {
		var last bool
		if last, err = s.lastAdmin(r, name); err == nil && last {
			s.renderUsers(w, r, http.StatusConflict, "", "The last admin keeps the admin role.")
			return
		}
	}
	if err == nil {
		err = s.svc.SetRole(r.Context(), name, role)
	}
	if err != nil {
		s.formError(w, r, err, func(code int, msg string) { s.renderUsers(w, r, code, "", msg) })
		return
	}
	s.audit(r, store.AuditRoleChange, name, "role "+string(role))
	s.renderUsers(w, r, http.StatusOK, name+" is now "+strconv.Quote(string(role))+".", "")
}

func (s *Server) userRemove(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	last, err := s.lastAdmin(r, name)
	if err == nil && last {
		s.renderUsers(w, r, http.StatusConflict, "", "The last admin cannot be removed.")
		return
	}
	if err == nil {
		err = s.svc.RemoveUser(r.Context(), name)
	}
	if err != nil {
		s.formError(w, r, err, func(code int, msg string) { s.renderUsers(w, r, code, "", msg) })
		return
	}
	s.audit(r, store.AuditUserRemove, name, "")
	s.renderUsers(w, r, http.StatusOK, "Removed "+name+".", "")
}
