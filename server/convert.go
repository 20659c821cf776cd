package server

import (
	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// The contract's state and format names, mapped both ways. An unknown name
// from EEO becomes UNSPECIFIED rather than an error: a new EEO state must
// not break reads.

var importStates = map[string]eeov1.ImportState{
	"QUEUED":     eeov1.ImportState_IMPORT_STATE_QUEUED,
	"VALIDATING": eeov1.ImportState_IMPORT_STATE_VALIDATING,
	"PROCESSING": eeov1.ImportState_IMPORT_STATE_PROCESSING,
	"COMPLETED":  eeov1.ImportState_IMPORT_STATE_COMPLETED,
	"FAILED":     eeov1.ImportState_IMPORT_STATE_FAILED,
	"CANCELLED":  eeov1.ImportState_IMPORT_STATE_CANCELLED,
}

var reportStates = map[string]eeov1.ReportState{
	"QUEUED":    eeov1.ReportState_REPORT_STATE_QUEUED,
	"RUNNING":   eeov1.ReportState_REPORT_STATE_RUNNING,
	"SUCCEEDED": eeov1.ReportState_REPORT_STATE_SUCCEEDED,
	"FAILED":    eeov1.ReportState_REPORT_STATE_FAILED,
	"CANCELLED": eeov1.ReportState_REPORT_STATE_CANCELLED,
}

var reportFormats = map[string]eeov1.ReportFormat{
	"CSV":  eeov1.ReportFormat_REPORT_FORMAT_CSV,
	"XLSX": eeov1.ReportFormat_REPORT_FORMAT_XLSX,
	"PDF":  eeov1.ReportFormat_REPORT_FORMAT_PDF,
}

var parameterTypes = map[string]eeov1.ParameterType{
	"STRING":  eeov1.ParameterType_PARAMETER_TYPE_STRING,
	"INTEGER": eeov1.ParameterType_PARAMETER_TYPE_INTEGER,
	"DATE":    eeov1.ParameterType_PARAMETER_TYPE_DATE,
	"BOOLEAN": eeov1.ParameterType_PARAMETER_TYPE_BOOLEAN,
}

func nameOf[E comparable](m map[string]E, v E) string {
	for name, e := range m {
		if e == v {
			return name
		}
	}
	return ""
}

func importStateName(s eeov1.ImportState) string { return nameOf(importStates, s) }
func reportStateName(s eeov1.ReportState) string { return nameOf(reportStates, s) }
func reportFormatName(f eeov1.ReportFormat) string {
	if f == eeov1.ReportFormat_REPORT_FORMAT_UNSPECIFIED {
		return "CSV"
	}
	return nameOf(reportFormats, f)
}

func importTerminal(s eeov1.ImportState) bool {
	return s == eeov1.ImportState_IMPORT_STATE_COMPLETED || s == eeov1.ImportState_IMPORT_STATE_FAILED ||
		s == eeov1.ImportState_IMPORT_STATE_CANCELLED
}

func reportTerminal(s eeov1.ReportState) bool {
	return s == eeov1.ReportState_REPORT_STATE_SUCCEEDED || s == eeov1.ReportState_REPORT_STATE_FAILED ||
		s == eeov1.ReportState_REPORT_STATE_CANCELLED
}

func importTypeProto(t eeo.ImportType) *eeov1.ImportType {
	return &eeov1.ImportType{
		Name: t.Name, Description: t.Description, FileFormats: t.FileFormats,
		RequiredColumns: t.RequiredColumns, OptionalColumns: t.OptionalColumns,
	}
}

func importProto(account string, i eeo.Import) *eeov1.Import {
	return &eeov1.Import{
		Account: account, ImportId: i.ID, ImportType: i.ImportType, FileName: i.FileName,
		ContentType: i.ContentType, RequestId: i.RequestID, State: importStates[i.State],
		RowCount: i.RowsTotal, AcceptedRowCount: i.RowsAccepted, RejectedRowCount: i.RowsRejected,
		SizeBytes: i.SizeBytes, Sha256: i.SHA256,
		CreateTime: timestamp(i.CreateTime), UpdateTime: timestamp(i.UpdateTime),
	}
}

func reportTypeProto(t eeo.ReportType) *eeov1.ReportType {
	rt := &eeov1.ReportType{Name: t.Name, Description: t.Description}
	for _, p := range t.Parameters {
		rt.Parameters = append(rt.Parameters, &eeov1.ReportParameter{
			Name: p.Name, ValueType: parameterTypes[p.Type], Required: p.Required, Description: p.Description,
		})
	}
	for _, f := range t.Formats {
		if pf, ok := reportFormats[f]; ok {
			rt.Formats = append(rt.Formats, pf)
		}
	}
	return rt
}

func reportProto(account string, r eeo.Report) *eeov1.Report {
	return &eeov1.Report{
		Account: account, ReportId: r.ID, ReportType: r.ReportType, Parameters: r.Parameters,
		Format: reportFormats[r.Format], RequestId: r.RequestID, State: reportStates[r.State],
		SizeBytes: r.SizeBytes, Sha256: r.SHA256, FileName: r.FileName, ContentType: r.ContentType,
		CreateTime: timestamp(r.CreateTime), UpdateTime: timestamp(r.UpdateTime),
	}
}
